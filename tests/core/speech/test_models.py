"""Both Whisper models come from wheels: found and loaded with the network switched off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from leap_core.speech.models import base_path, model_path, tiny_en_path


def test_the_multilingual_model_is_assembled_once_and_whole(tmp_path: Path) -> None:
    first = base_path(tmp_path)
    size = (first / "model.bin").stat().st_size
    assert size > 140_000_000
    assert {p.name for p in first.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = (first / "model.bin").stat().st_mtime_ns
    assert base_path(tmp_path) == first
    assert (first / "model.bin").stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_concurrent_first_uses_leave_one_complete_model(tmp_path: Path) -> None:
    code = "import sys; from pathlib import Path; from leap_core.speech.models import base_path; " \
           "print(base_path(Path(sys.argv[1])))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = {p.communicate(timeout=300)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outs) == 1
    assert [p.name for p in tmp_path.iterdir()] == [Path(outs.pop()).name]


def test_both_models_load_with_no_network(tmp_path: Path) -> None:
    code = ("import sys; from faster_whisper import WhisperModel; from pathlib import Path; "
            "from leap_core.speech.models import model_path; "
            "[WhisperModel(model_path(m, Path(sys.argv[1])), device='cpu', compute_type='int8') "
            "for m in ('tiny.en', 'base')]; print('ok')")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_bundled_name_maps_to_its_directory_and_anything_else_passes_through() -> None:
    assert model_path("tiny.en") == str(tiny_en_path())
    assert model_path("/models/custom") == "/models/custom"
