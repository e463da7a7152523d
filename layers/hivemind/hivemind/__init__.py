"""HiveMind's domain package: one package, split by role.

models/      the contracts (request, plan, workflow state, records)
planning/    read a source tree and decide how to build and run it
templating/  turn a plan into a CloudFormation template
policy/      cfn-lint (and policy rules) over a template
aws/         adapters over boto3: one cached client factory, one module per service
workflow/    the domain function behind each state of the deploy state machine
medic/       diagnose stack failures from their events, decide retry or roll back
local/       the offline AWS runtime (moto) that runs the real workflow in-process
cli/         the `hivemind` command
"""

__version__ = "0.1.0"
