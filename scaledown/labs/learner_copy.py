"""The learner's copy of a lab, generated from its solution; and the *filled* copy the tests run.

Every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` block becomes a stub that keeps the
skeleton a learner needs and blanks the lines that teach:

============================  ===================================================
in the solution block         in the learner's copy
============================  ===================================================
``def``/``class``             signature, decorators and docstring; body stubbed
``for``/``while``/``with``    the header line; body stubbed
``if`` holding a return/loop  the header line; body (and ``else``) stubbed
other ``if``                  ``...  # YOUR CODE HERE``
``a, b = <expr>``             ``a, b = ..., ...  # YOUR CODE HERE``
``return a, b``               kept as it is (it names what the function returns)
``return <expr>``             ``return ...  # YOUR CODE HERE``
imports, break, continue      kept as they are
anything else                 ``...  # YOUR CODE HERE``
============================  ===================================================

An unfilled copy is valid Python: every blank is ``...`` (Python's Ellipsis), which
:func:`scaledown.labs.todo_done` recognises, so the check answers with a hint.
"""

from __future__ import annotations

import ast
import copy

from scaledown.labs.notebook_io import cell_source

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
TODO_MARK = "# YOUR CODE HERE"
_KEPT_AS_IS = (ast.Import, ast.ImportFrom, ast.Break, ast.Continue, ast.Pass, ast.Global, ast.Nonlocal)


def _blank(node) -> str:
    return " " * node.col_offset + f"...  {TODO_MARK}"


def _header(node, lines) -> list:
    """The source lines of a compound statement before its body (decorators included)."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return lines[first - 1 : node.body[0].lineno - 1]


def _holds_control_flow(node) -> bool:
    return any(isinstance(n, (ast.Return, ast.For, ast.AsyncFor, ast.While)) for n in ast.walk(node))


def _is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _stub_body(body, lines, owner) -> list:
    """Stub a statement list; never empty (an empty body would not parse)."""
    out = []
    for node in body:
        for line in _stub_statement(node, lines):
            if not (out and out[-1] == line and line.endswith(TODO_MARK)):
                out.append(line)
    return out or [" " * (owner.col_offset + 4) + f"...  {TODO_MARK}"]


def _stub_statement(node, lines) -> list:
    source = "\n".join(lines)
    pad = " " * node.col_offset
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out, body = _header(node, lines), node.body
        if _is_docstring(body[0]):
            out += lines[body[0].lineno - 1 : body[0].end_lineno]
            body = body[1:]
        return out + _stub_body(body, lines, node)
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
        return _header(node, lines) + _stub_body(node.body, lines, node)
    if isinstance(node, ast.If) and _holds_control_flow(node):
        out = _header(node, lines) + _stub_body(node.body, lines, node)
        if node.orelse:
            out += [pad + "else:"] + _stub_body(node.orelse, lines, node)
        return out
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = "..."
        if (
            len(targets) == 1
            and isinstance(targets[0], ast.Tuple)
            and not any(isinstance(e, (ast.Starred, ast.Tuple, ast.List)) for e in targets[0].elts)
        ):
            value = ", ".join("..." for _ in targets[0].elts)  # `a, b = ..., ...` unpacks
        return [pad + " = ".join(ast.get_source_segment(source, t) for t in targets) + f" = {value}  {TODO_MARK}"]
    if isinstance(node, ast.Return):
        value = node.value
        if value is None:
            return [pad + "return"]
        names = value.elts if isinstance(value, ast.Tuple) else [value]
        if all(isinstance(n, ast.Name) for n in names):
            return [pad + "return " + ast.get_source_segment(source, value)]
        return [pad + f"return ...  {TODO_MARK}"]
    if isinstance(node, _KEPT_AS_IS):
        return lines[node.lineno - 1 : node.end_lineno]
    return [_blank(node)]


def _stub(solution_code: str) -> str:
    """The learner's stub of one (dedented) solution block."""
    lines = solution_code.splitlines()
    tree = ast.parse(solution_code)
    if not tree.body:
        return f"...  {TODO_MARK}"
    return "\n".join(_stub_body(tree.body, lines, None))


def solution_blocks(source: str) -> list:
    """The solution blocks of a cell, in order, as ``(stub, solution)`` text pairs at the block's indent.

    ``solution`` is the code between the markers; ``stub`` is what the learner's copy shows
    in its place. Raises ``ValueError`` for unbalanced markers.
    """
    blocks, block, inside, indent = [], [], False, ""
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            if inside:
                raise ValueError(f"line {number}: '{BEGIN}' inside another solution block.")
            inside, block = True, []
            indent = line[: len(line) - len(line.lstrip())]
        elif line.strip() == END:
            if not inside:
                raise ValueError(f"line {number}: '{END}' without a '{BEGIN}' before it.")
            code = "\n".join(b[len(indent) :] if b.startswith(indent) else b for b in block)
            stub = "\n".join(indent + s if s else s for s in _stub(code).splitlines())
            blocks.append((stub, "\n".join(block)))
            inside = False
        elif inside:
            block.append(line)
    if inside:
        raise ValueError(f"A '{BEGIN}' has no '{END}' after it.")
    return blocks


def student_source(source: str) -> str:
    """Replace every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` block of a cell by its stub."""
    stubs = iter(stub for stub, _ in solution_blocks(source))
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            out.append(next(stubs))
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def make_student_notebook(solution: dict) -> dict:
    """Return the learner's copy of a solution notebook (a dict in nbformat 4 JSON form).

    Solution blocks become stubs, cells tagged ``solution-only`` are dropped, outputs and
    execution counts are cleared, the authors' wrong answers (notebook metadata
    ``scaledown.wrong_answers``) are removed, and Markdown links relative to ``labs/solutions/``
    (``](../../``, the Colab badge) are rewritten for ``labs/``.
    """
    student = copy.deepcopy(solution)
    cells = []
    for cell in student["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution-only" in tags:
            continue
        source = cell_source(cell)
        if cell["cell_type"] == "code":
            cell["source"] = student_source(source)
            cell["outputs"], cell["execution_count"] = [], None
            cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k == "tags"}
            if tags:
                cell["metadata"]["tags"] = [t for t in tags if t != "hide-input"]
                if not cell["metadata"]["tags"]:
                    del cell["metadata"]["tags"]
        else:
            cell["source"] = source.replace("](../../", "](../").replace(
                "/blob/main/labs/solutions/", "/blob/main/labs/"
            )
        cells.append(cell)
    student["cells"] = cells
    student.get("metadata", {}).get("scaledown", {}).pop("wrong_answers", None)
    if student.get("metadata", {}).get("scaledown") == {}:
        del student["metadata"]["scaledown"]
    return student


def filled_notebook(learner: dict, solution: dict) -> dict:
    """The learner's copy with every blank replaced by the solution's code, as a learner who solved it would.

    The blanks are found in the *learner's* cells, in order, so this proves that each
    solution block fits where the learner's copy leaves room for it. Raises ``ValueError``
    naming the cell when a blank is missing.
    """
    solution_cells = [c for c in solution["cells"] if "solution-only" not in c.get("metadata", {}).get("tags", [])]
    if len(solution_cells) != len(learner["cells"]):
        raise ValueError(
            f"the learner's copy has {len(learner['cells'])} cells and the solution "
            f"{len(solution_cells)} (without solution-only cells): rebuild it with `scaledown labs build`."
        )
    filled = copy.deepcopy(learner)
    for number, (cell, answer) in enumerate(zip(filled["cells"], solution_cells)):
        if cell["cell_type"] != "code":
            continue
        text, position = cell_source(cell), 0
        for stub, code in solution_blocks(cell_source(answer)):
            found = text.find(stub, position)
            if found < 0:
                raise ValueError(f"cell {number}: the blank for\n{code}\nis not in the learner's copy.")
            text = text[:found] + code + text[found + len(stub) :]
            position = found + len(code)
        cell["source"] = text
    return filled
