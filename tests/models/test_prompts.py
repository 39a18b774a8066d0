"""Prompt templates: built-ins render as documented, hashes are stable, user files fail clearly."""

import dataclasses
import re

import pytest

from coderank.errors import UsageError
from coderank.models.prompts import (
    TEMPLATES,
    PromptTemplate,
    Rendered,
    get_template,
    load_template,
    names,
    register_template,
)
from coderank.types import Problem

ADD = Problem(
    task_id="demo/0",
    prompt='def add(a: int, b: int) -> int:\n    """Return a + b (and mind a < b & c)."""\n',
    entry_point="add",
    test="def check(candidate):\n    assert candidate(1, 2) == 3\n",
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- built-ins ---------------------------------------------------------------------------------------------


def test_the_builtin_names():
    assert names() == ["alpaca", "chat", "codellama-instruct", "completion", "wizardcoder"]


def test_completion_sends_the_prompt_as_is_with_the_stop_sequences():
    r = get_template("completion").render(ADD)
    assert r == Rendered("completion", ADD.prompt, None,
                         ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert", '\n"""', "\n```"))
    assert get_template("completion").extract == "completion"


def test_chat_sends_one_user_message_with_the_prompt_in_a_python_block():
    r = get_template("chat").render(ADD)
    assert r.kind == "chat" and r.text is None and r.stop == ()
    [message] = r.messages
    assert message["role"] == "user"
    assert "`add`" in message["content"]
    assert message["content"].endswith("```python\n" + ADD.prompt.strip() + "\n```")
    assert get_template("chat").extract == "chat"


def test_a_chat_template_with_a_system_message_sends_it_first():
    t = PromptTemplate("sys", "chat", system="You write {{ task_id }} solutions.", user="{{ prompt }}")
    assert t.render(ADD).messages == [{"role": "system", "content": "You write demo/0 solutions."},
                                      {"role": "user", "content": ADD.prompt}]


def test_wizardcoder_is_the_alpaca_format_read_as_a_chat_answer():
    t = get_template("wizardcoder")
    assert t.render(ADD).text == (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        "\n\n### Instruction:\nCreate a Python script for this problem:\n" + ADD.prompt + "\n\n### Response:"
    )
    assert (t.kind, t.extract) == ("completion", "chat")


def test_alpaca_asks_what_the_chat_template_asks_in_the_frame_train_teaches():
    # a base model fine-tuned on `coderank distill` rows (instruction: the chat template's user message) with
    # `train --prompt-format alpaca` must be asked at eval exactly as its rows were, for both problem shapes
    from coderank.problems import load_benchmark
    from coderank.train._data import ALPACA

    statement = Problem("lc/1", "class Solution:\n    def two(self, xs):\n        \"\"\"Add.\"\"\"\n", "two", "",
                        question="Add the numbers.", starter_code="class Solution:\n    def two(self, xs):\n")
    mbpp = next(iter(load_benchmark("mbpp-train")))
    t = get_template("alpaca")
    for problem in (ADD, statement, mbpp):
        [asked] = get_template("chat").render(problem).messages
        assert t.render(problem).text == ALPACA.format(instruction=asked["content"])
    assert "Start from this code" in t.render(statement).text and "Start from this code" not in t.render(ADD).text
    assert (t.kind, t.extract, t.stop, t.bos) == ("completion", "chat", ("\n### Instruction",), True)


def test_codellama_instruct_wraps_the_task_in_inst_and_leaves_bos_to_the_backend():
    t = get_template("codellama-instruct")
    r = t.render(ADD)
    assert r.text.startswith("[INST] Finish the Python function `add`") and r.text.endswith("\n``` [/INST]")
    assert "<s>" not in r.text
    assert r.bos is True and t.extract == "chat"


def test_rendering_does_not_html_escape_code():
    assert "a < b & c" in get_template("chat").render(ADD).messages[0]["content"]


# --- hashes ------------------------------------------------------------------------------------------------


def test_the_hash_is_algorithm_tagged_hex():
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", get_template("chat").sha256)


def test_the_hash_of_a_builtin_is_pinned():
    # Changing a built-in's wording, stops or the canonical JSON changes every manifest: do it on purpose.
    pinned = "sha256:4c813378ec060eb7ac6d88bec4e6b850f67ceb3d38801cffb63bf381c7757e3a"
    assert get_template("completion").sha256 == pinned


@pytest.mark.parametrize(
    "change",
    [{"text": "{{ prompt }}\n"}, {"stop": ("\ndef ",)}, {"extract": "chat"}, {"bos": True}],
)
def test_the_hash_changes_when_anything_the_model_sees_changes(change):
    t = get_template("completion")
    assert dataclasses.replace(t, **change).sha256 != t.sha256


def test_the_hash_ignores_the_name_and_source():
    t = get_template("chat")
    assert dataclasses.replace(t, name="mine", source="/tmp/x.chat.j2").sha256 == t.sha256


def test_different_builtins_have_different_hashes():
    assert len({t.sha256 for t in TEMPLATES.values()}) == len(TEMPLATES)


# --- names and registration ----------------------------------------------------------------------------------


def test_an_unknown_name_suggests_the_close_one_and_lists_all():
    with pytest.raises(UsageError) as info:
        get_template("wizzardcoder")
    assert info.value.message == "unknown prompt template 'wizzardcoder'"
    assert info.value.hint.startswith("did you mean wizardcoder?")
    assert "alpaca, chat, codellama-instruct, completion, wizardcoder" in info.value.hint


def test_registering_a_different_template_under_a_taken_name_fails():
    with pytest.raises(UsageError, match="already exists"):
        register_template(PromptTemplate("chat", "chat", user="{{ prompt }}"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"kind": "instruct", "text": "x"}, "unknown kind 'instruct'"),
     ({"kind": "chat", "text": "x"}, "a chat template has a user message"),
     ({"kind": "completion", "user": "x"}, "a completion template has one text"),
     ({"kind": "completion", "text": "x", "extract": "fim"}, "unknown extraction mode 'fim'")],
)
def test_inconsistent_templates_are_refused(fields, message):
    with pytest.raises(UsageError, match=message):
        PromptTemplate("bad", **fields)


# --- user files --------------------------------------------------------------------------------------------


def test_a_chat_j2_file_is_a_chat_template(tmp_path):
    t = load_template(write(tmp_path, "terse.chat.j2", "Solve {{ entry_point }}:\n{{ prompt }}\n"))
    assert (t.name, t.kind, t.extract) == ("terse", "chat", "chat")
    assert t.render(ADD).messages == [{"role": "user", "content": "Solve add:\n" + ADD.prompt}]


def test_a_plain_j2_file_is_a_completion_template_without_its_trailing_newline(tmp_path):
    t = load_template(write(tmp_path, "plain.j2", "# {{ task_id }}\n{{ prompt }}\n"))
    assert (t.name, t.kind) == ("plain", "completion")
    assert t.render(ADD).text == "# demo/0\n" + ADD.prompt


def test_the_header_line_sets_options_and_is_not_rendered(tmp_path):
    header = '{# coderank: {"stop": ["\\n###"], "extract": "chat", "bos": true, "system": null} #}\n'
    t = load_template(write(tmp_path, "alpaca.j2", header + "### Task\n{{ prompt }}\n### Answer:"))
    assert (t.stop, t.extract, t.bos) == (("\n###",), "chat", True)
    assert t.render(ADD).text == "### Task\n" + ADD.prompt + "\n### Answer:"


def test_the_header_can_give_a_chat_template_a_system_message(tmp_path):
    header = '{# coderank: {"system": "You are terse. Task {{ task_id }}."} #}\n'
    t = load_template(write(tmp_path, "s.chat.j2", header + "{{ prompt }}"))
    assert t.render(ADD).messages[0] == {"role": "system", "content": "You are terse. Task demo/0."}


def test_get_template_loads_a_path(tmp_path):
    path = write(tmp_path, "mine.chat.j2", "{{ prompt }}")
    assert get_template(str(path)).kind == "chat"


def test_a_misspelt_variable_names_the_variable_and_the_file(tmp_path):
    path = write(tmp_path, "typo.j2", "{{ prompt }}\n# entry: {{ entrypoint }}\n")
    with pytest.raises(UsageError) as info:
        load_template(path)
    assert info.value.message == f"{path}: undefined variable(s) entrypoint"
    assert "prompt, entry_point, task_id, question, starter_code, problem" in info.value.hint


def test_an_undefined_attribute_fails_at_render_time_naming_the_template(tmp_path):
    path = write(tmp_path, "attr.j2", "{{ problem.difficulty }} {{ prompt }}")
    t = load_template(path)
    with pytest.raises(UsageError) as info:
        t.render(ADD)
    assert str(path) in info.value.message and "difficulty" in info.value.message


def test_a_jinja_syntax_error_names_the_file_line_counting_the_header(tmp_path):
    path = write(tmp_path, "broken.j2", '{# coderank: {"bos": false} #}\nok\n{{ prompt \n')
    with pytest.raises(UsageError, match=re.escape(f"{path}:3: template syntax error")):
        load_template(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [("{# coderank: {stop: 1} #}", "the coderank header is not valid JSON"),
     ('{# coderank: {"stops": []} #}', "unknown header key(s) stops"),
     ('{# coderank: {"stop": "\\n"} #}', "header key 'stop' has the wrong type")],
)
def test_a_bad_header_is_refused_with_the_file_and_line(tmp_path, header, message):
    path = write(tmp_path, "h.j2", header + "\n{{ prompt }}")
    with pytest.raises(UsageError, match=re.escape(f"{path}:1: {message}")):
        load_template(path)


def test_a_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_template(tmp_path / "nope.j2")


# --- problems given as a statement plus starter code -------------------------------------------------------

STARTER = "from typing import List\n\n\nclass Solution:\n    def total(self, nums: List[int]) -> int:\n"
QUESTION = ("Return the sum of nums.\n\nExample 1: nums = [1, 2] gives 3; a list without numbers gives 0.\n\n"
            "Constraints:\n- 0 <= len(nums) <= 10")


def _statement_problem():
    from coderank.problems.problemfile import docstring_prompt

    return Problem(task_id="lc/1", prompt=docstring_prompt(QUESTION, STARTER), entry_point="Solution",
                   test="def check(candidate):\n    assert Solution().total([1, 2]) == 3\n",
                   question=QUESTION, starter_code=STARTER)


def test_chat_gives_the_statement_as_prose_and_only_the_starter_code_as_code():
    content = get_template("chat").render(_statement_problem()).messages[0]["content"]
    assert content == (
        "Solve the following problem in Python.\n\n" + QUESTION + "\n\nStart from this code:\n\n```python\n"
        + STARTER.rstrip() + "\n```\n\nAnswer with the completed code — the starter code with the body written, "
        "and any imports it needs — in one ```python code block. Do not copy the problem statement or its "
        "examples into the code."
    )
    assert '"""' not in content  # no docstring for the model to copy back


def test_completion_templates_send_the_statement_as_a_docstring_inside_the_stub():
    problem = _statement_problem()
    text = get_template("completion").render(problem).text
    assert text == problem.prompt and text.startswith(STARTER)
    assert text.endswith('    def total(self, nums: List[int]) -> int:\n        """\n'
                         '        Return the sum of nums.\n\n'
                         '        Example 1: nums = [1, 2] gives 3; a list without numbers gives 0.\n\n'
                         '        Constraints:\n        - 0 <= len(nums) <= 10\n        """\n')
    assert problem.prompt in get_template("wizardcoder").render(problem).text


def test_chat_keeps_the_docstring_form_for_problems_without_a_statement():
    assert get_template("chat").render(ADD).messages[0]["content"].endswith("```python\n" + ADD.prompt.strip()
                                                                            + "\n```")


def test_a_run_without_statement_problems_keeps_the_chat_hash_it_always_had():
    # The hash of the chat template before it had a statement message: HumanEval and MBPP runs keep their ids.
    before = "sha256:32d5f397bb46f13df703ce9927324a6c4efbb75a619fa21ed310476d1004c96c"
    chat = get_template("chat")
    assert chat.used_for([ADD]).sha256 == before
    assert chat.used_for([ADD, _statement_problem()]).sha256 == chat.sha256 != before
    assert get_template("completion").used_for([_statement_problem()]) is get_template("completion")


def test_a_chat_file_can_use_the_statement_and_the_starter_code(tmp_path):
    path = write(tmp_path, "lc.chat.j2", "{% if question %}{{ question }}\n---\n{{ starter_code }}{% else %}"
                 "{{ prompt }}{% endif %}")
    t = load_template(path)
    assert t.render(_statement_problem()).messages[0]["content"] == QUESTION + "\n---\n" + STARTER
    assert t.render(ADD).messages[0]["content"] == ADD.prompt


def test_a_completion_template_cannot_have_a_statement_message():
    with pytest.raises(UsageError, match="a completion template has one text"):
        PromptTemplate("x", "completion", text="{{ prompt }}", statement_user="{{ question }}")
