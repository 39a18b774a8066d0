"""Training data: row formats, errors that name FILE:LINE, prompt formats, response-only labels."""

import json

import pytest

from coderank.errors import InputError, UsageError
from coderank.train import ALPACA, IGNORE_INDEX, encode, format_example, read_examples
from coderank.train._data import ALPACA_INPUT, encode_all


def write(tmp_path, lines, name="d.jsonl"):
    path = tmp_path / name
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


@pytest.fixture(scope="module")
def tok(tiny_model):
    import transformers

    return transformers.AutoTokenizer.from_pretrained(tiny_model)


def test_reads_evol_alpaca_and_chat_rows_and_ignores_other_keys(data_file):
    ex = read_examples(data_file)
    assert [e.where.rsplit(":", 1)[1] for e in ex] == ["1", "2", "3", "4"]
    assert ex[0].instruction.startswith("Write a function add") and ex[0].output.startswith("def add")
    assert ex[2].input == "xs = [3, 1, 2]" and ex[2].messages[0][1].endswith("\n\nxs = [3, 1, 2]")
    assert ex[3].instruction is None and ex[3].messages == (("user", "Square x."), ("assistant", "x * x"))


@pytest.mark.parametrize(("line", "needle"), [
    ("{not json", "invalid JSON"),
    ({"instruction": "x"}, "no 'output'"),
    ({"output": "x"}, "no 'instruction'"),
    ({"instruction": 3, "output": "x"}, "'instruction' is a int"),
    ({"instruction": "  ", "output": "x"}, "'instruction' is empty"),
    ({"instruction": "x", "output": "y", "input": ["z"]}, "'input' is a list"),
    ([1, 2], "not an object"),
    ({"messages": [{"role": "user", "content": "q"}]}, "at least two"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "a"}]}, "last message"),
    ({"messages": [{"role": "bot", "content": "q"}, {"role": "assistant", "content": "a"}]}, "role 'bot'"),
    ({"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}, "no user"),
])
def test_a_bad_line_is_an_input_error_naming_file_and_line(tmp_path, line, needle):
    path = write(tmp_path, [{"instruction": "ok", "output": "ok"}, line])
    with pytest.raises(InputError) as info:
        read_examples(path)
    assert f"{path}:2:" in info.value.message and needle in info.value.message
    assert info.value.hint


def test_missing_and_empty_files_are_user_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_examples(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="no rows"):
        read_examples(write(tmp_path, ["", "  "]))


def test_cli_reports_a_bad_line_without_a_traceback(cli, tmp_path):
    path = write(tmp_path, [{"instruction": "ok", "output": "ok"}, "{broken"])
    code, out, err = cli("train", str(path), "--out", str(tmp_path / "o"))
    assert code == 2 and f"{path}:2" in err and "Traceback" not in err and out == ""
    assert not (tmp_path / "o").exists()


def test_alpaca_format_is_the_wizardcoder_prompt(data_file, tok):
    ex = read_examples(data_file)
    prompt, answer = format_example(ex[0], "alpaca", tok)
    assert prompt == ("Below is an instruction that describes a task. Write a response that appropriately completes "
                      "the request.\n\n### Instruction:\nWrite a function add(a, b) that returns the sum.\n\n"
                      "### Response:")
    assert prompt == ALPACA.format(instruction=ex[0].instruction) and answer == ex[0].output
    prompt, _ = format_example(ex[2], "alpaca", tok)
    assert prompt == ALPACA_INPUT.format(instruction=ex[2].instruction, input="xs = [3, 1, 2]")
    prompt, answer = format_example(ex[3], "alpaca", tok)  # a two-message chat row fits the format
    assert "### Instruction:\nSquare x.\n\n### Response:" in prompt and answer == "x * x"


def test_alpaca_format_refuses_a_multi_turn_chat_row(tmp_path, tok):
    path = write(tmp_path, [{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                                          {"role": "assistant", "content": "a"}]}])
    with pytest.raises(InputError, match=r"d\.jsonl:1: .*system/user/assistant"):
        format_example(read_examples(path)[0], "alpaca", tok)


def test_chat_format_uses_the_models_template_and_cuts_the_answer_out(data_file, tok):
    ex = read_examples(data_file)[1]
    prompt, answer = format_example(ex, "chat", tok)
    assert prompt == "<|im_start|>user\nReverse a string s.<|im_end|>\n<|im_start|>assistant\n"
    assert answer == "def rev(s):\n    return s[::-1]\n<|im_end|>\n"


def test_chat_format_needs_a_chat_template(data_file, tok):
    import copy

    plain = copy.copy(tok)
    plain.chat_template = None
    with pytest.raises(UsageError, match="no chat template"):
        format_example(read_examples(data_file)[0], "chat", plain)


@pytest.mark.parametrize("fmt", ["alpaca", "chat"])
def test_labels_mask_every_prompt_token_and_keep_every_response_token(data_file, tok, fmt):
    ex = read_examples(data_file)[0]
    prompt, answer = format_example(ex, fmt, tok)
    enc = encode(prompt, answer, fmt, tok, max_len=512)
    prompt_ids = tok(prompt, add_special_tokens=fmt == "alpaca")["input_ids"]
    n = len(prompt_ids)
    assert enc.input_ids[:n] == prompt_ids  # the prompt tokenized alone, as at inference
    assert enc.labels[:n] == [IGNORE_INDEX] * n
    assert enc.labels[n:] == enc.input_ids[n:] and all(t != IGNORE_INDEX for t in enc.labels[n:])
    response = tok.decode(enc.input_ids[n:])
    if fmt == "alpaca":
        assert enc.input_ids[-1] == tok.eos_token_id and response == answer + "<|im_end|>"
    else:
        assert response == answer and answer.endswith("<|im_end|>\n")
    assert not enc.truncated


def test_max_len_cuts_the_answer_and_drops_rows_with_no_room_left(data_file, tok):
    ex = read_examples(data_file)[0]
    prompt, answer = format_example(ex, "alpaca", tok)
    n = len(tok(prompt)["input_ids"])
    cut = encode(prompt, answer, "alpaca", tok, max_len=n + 2)
    assert cut.truncated and len(cut.input_ids) == n + 2 and cut.labels[-2:] == cut.input_ids[-2:]
    assert encode(prompt, answer, "alpaca", tok, max_len=n) is None
    enc = encode_all(read_examples(data_file), "alpaca", tok, max_len=n + 2)
    assert enc.truncated >= 1 and all(len(r["input_ids"]) <= n + 2 for r in enc.rows)
    with pytest.raises(InputError, match="--max-len 8"):
        encode_all(read_examples(data_file), "alpaca", tok, max_len=8)
