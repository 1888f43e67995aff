"""The retrain step run by the retrain pipeline's CodeBuild project (see start_training.py)."""
