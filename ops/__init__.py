"""Operator commands for a deployed stage: ``python -m ops {traffic,run-now,status,report}``.

The stacks deploy the monitoring; these commands are what an operator does with it afterwards: send demo
traffic (normal or drifted) to the endpoint, start a monitoring execution now instead of waiting for the
hour, see the schedule, its executions and the alarms at a glance, and compare an execution's statistics
with the baseline's in a picture. Names and ARNs come from the stacks' CloudFormation outputs of the stage
chosen with ``--stage``, never typed by hand.

Each subcommand is a module of plain functions that take their AWS clients as arguments (the tests pass moto
or stubbed clients); ``ops/__main__.py`` only parses the command line and wires them together.
"""
