"""Which arguments a Glue entry script reads with ``getResolvedOptions``, found by reading the code.

The entry scripts call helpers (``glue_jobs.glue_context.start_run``), so the analysis follows the
script's first-party imports (``glue_jobs``, ``common``) and evaluates the argument-name list of
every ``getResolvedOptions(argv, names)`` call: string constants, module constants, starred
unpacking, and comprehensions. A name taken from a comprehension with a condition (asked for only
when present in ``sys.argv``) is optional; every other name is required.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("glue_jobs", "common")


@dataclass
class ResolvedOptions:
    required: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)
    calls: int = 0  # getResolvedOptions calls found
    keys_read: set[str] = field(default_factory=set)  # args["x"] / args.get("x") in the script itself

    @property
    def names(self) -> set[str]:
        return self.required | self.optional


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in FIRST_PARTY and _module_file(name)}


def _reachable(script: Path) -> list[ast.Module]:
    trees = [ast.parse(script.read_text(), str(script))]
    seen: set[str] = set()
    queue = sorted(_imports(trees[0]))
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        assert path is not None
        tree = ast.parse(path.read_text(), str(path))
        trees.append(tree)
        queue.extend(sorted(_imports(tree) - seen))
    return trees


def _assignments(body: list[ast.stmt] | ast.AST) -> dict[str, ast.expr]:
    nodes = body if isinstance(body, list) else list(ast.walk(body))
    found: dict[str, ast.expr] = {}
    for node in nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _evaluate(node: ast.expr, scopes: list[dict[str, ast.expr]], required: bool = True) -> list[tuple[str, bool]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(node.value, required)]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [item for element in node.elts for item in _evaluate(element, scopes, required)]
    if isinstance(node, ast.Starred):
        return _evaluate(node.value, scopes, required)
    if isinstance(node, ast.Name):
        for scope in scopes:
            if node.id in scope:
                return _evaluate(scope[node.id], scopes, required)
        return []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "tuple", "sorted"):
        return _evaluate(node.args[0], scopes, required) if node.args else []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _evaluate(node.left, scopes, required) + _evaluate(node.right, scopes, required)
    if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
        generator = node.generators[0]
        return _evaluate(generator.iter, scopes, required and not generator.ifs)
    return []


def resolved_options(script: Path) -> ResolvedOptions:
    result = ResolvedOptions()
    trees = _reachable(script)
    for tree in trees:
        module_scope = _assignments(tree.body)
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for function in functions:
            local_scope = _assignments(function)
            for call in ast.walk(function):
                if not isinstance(call, ast.Call):
                    continue
                name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                if name != "getResolvedOptions" or len(call.args) < 2:
                    continue
                result.calls += 1
                for arg, is_required in _evaluate(call.args[1], [local_scope, module_scope]):
                    (result.required if is_required else result.optional).add(arg)
    result.optional -= result.required
    for node in ast.walk(trees[0]):  # keys the script itself reads from the resolved arguments
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr == "args":
                result.keys_read.add(str(node.slice.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and owner.attr == "args" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    result.keys_read.add(first.value)
    return result
