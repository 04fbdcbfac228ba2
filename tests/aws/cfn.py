"""Reading the CloudFormation templates in tests: decode (short-form tags too) and resolve values.

:func:`resolve` evaluates the intrinsic functions our template uses (Ref, Fn::Sub, Fn::FindInMap,
Fn::Join, Fn::If on its true branch of the default parameters) with parameter defaults and
stand-in names for the resources, so a test can compare, say, a job's ScriptLocation with the key
``scripts/package.sh`` uploaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "cloudformation"
MAIN_TEMPLATE = TEMPLATE_DIR / "tweetlake.yaml"
STACK_NAME = "tweetlake"


def templates() -> list[Path]:
    return sorted(TEMPLATE_DIR.glob("*.yaml"))


def load(path: Path = MAIN_TEMPLATE) -> dict[str, Any]:
    template, matches = decode(str(path))
    assert not matches, [str(m) for m in matches]
    assert isinstance(template, dict)
    return template


NO_VALUE = object()  # what !Ref AWS::NoValue resolves to: the property or list item disappears


class Resolver:
    """Values of a template's expressions for one imagined deployment."""

    def __init__(self, template: dict[str, Any], names: dict[str, str]) -> None:
        self.template = template
        self.names = names  # logical id -> the physical name Ref gives
        self.params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.pseudo = {
            "AWS::StackName": STACK_NAME,
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.conditions = template.get("Conditions", {})

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in self.names:
            return self.names[name]
        resource = self.template["Resources"][name]
        props = resource.get("Properties", {})
        for key in ("Name",):  # Glue jobs, crawlers, workflows, security configurations
            if key in props:
                return str(self.resolve(props[key]))
        if "ConnectionInput" in props:
            return str(self.resolve(props["ConnectionInput"]["Name"]))
        if "DatabaseInput" in props:
            return str(self.resolve(props["DatabaseInput"]["Name"]))
        return f"<{name}>"

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions[name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):  # an item that is !Ref AWS::NoValue is left out, as CloudFormation does
            return [r for r in (self.resolve(n) for n in node) if r is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {k: r for k, r in ((k, self.resolve(v)) for k, v in node.items()) if r is not NO_VALUE}
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            values = {k: str(self.resolve(v)) for k, v in variables.items()}

            def sub(match: re.Match[str]) -> str:
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in values:
                    return values[name]
                if "." in name and not name.startswith("AWS::"):
                    return f"<{name}>"  # GetAtt
                return self.ref(name)

            return re.sub(r"\$\{([^}]+)\}", sub, text)
        if fn == "Fn::FindInMap":
            table, key, field = (self.resolve(a) for a in arg)
            return self.template["Mappings"][table][key][field]
        if fn == "Fn::Join":
            return str(self.resolve(arg[0])).join(str(x) for x in self.resolve(arg[1]))
        if fn == "Fn::Split":
            return str(self.resolve(arg[1])).split(self.resolve(arg[0]))
        if fn == "Fn::Select":
            return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        if fn == "Fn::GetAtt":
            return f"<{arg[0] if isinstance(arg, list) else arg}>"
        if fn == "Fn::If":
            return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
        if fn == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self.resolve(arg[0])
        if fn == "Fn::Base64":
            return self.resolve(arg)
        if fn == "Condition":
            return self.condition(arg)
        value = self.resolve(arg)  # not a function: a one-key mapping
        return {} if value is NO_VALUE else {fn: value}


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def user_data_parts(user_data: str) -> dict[str, str]:
    """The parts of a MIME multipart user data (cloud-init's format), by content type."""
    import email

    message = email.message_from_string(user_data)
    assert message.is_multipart(), "the user data is not MIME multipart"
    parts: dict[str, str] = {}
    for part in message.get_payload():
        content_type = part.get_content_type()
        assert content_type not in parts, f"two {content_type} parts"
        parts[content_type] = part.get_payload()
    return parts
