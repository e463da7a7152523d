"""Checks a template must pass before CloudFormation sees it: cfn-lint (warm runner)."""

from hivemind.policy.lint import blocking, lint_template

__all__ = ["blocking", "lint_template"]
