import yaml

from hivemind.policy import blocking, lint, lint_template

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "t"}},
    },
}


def test_clean_template_has_no_blocking_findings():
    assert blocking(lint_template(yaml.safe_dump(TEMPLATE))) == []


def test_errors_name_rule_resource_path_and_line():
    broken = {
        **TEMPLATE,
        "Resources": {
            **TEMPLATE["Resources"],
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimout": 30}},
        },
    }
    body = yaml.safe_dump(broken, sort_keys=False)
    errors = blocking(lint_template(body))
    assert errors, "a misspelt property must be an error"
    finding = errors[0]
    assert finding.rule_id.startswith("E") and finding.resource == "Queue"
    assert finding.path.startswith("Resources/Queue/Properties")
    assert "VisibilityTimout" in body.splitlines()[finding.line - 1]
    assert finding.fix and "http" in finding.fix


def test_unparseable_template_is_a_finding_not_an_exception():
    findings = lint_template("Resources: [unclosed")
    assert len(findings) == 1 and findings[0].severity == "error" and findings[0].line


def test_the_runner_is_built_once_and_reused():
    assert lint.runner(("us-east-1",)) is lint.runner(("us-east-1",))
