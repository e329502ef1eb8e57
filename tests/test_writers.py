"""The run's logs: the JSON sanitiser, the eval summary line, and trimming on resume."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np

from jaxgan import writers


def test_jsonable_turns_numpy_and_jax_values_into_json_types():
  record = {"a": np.float32(1.5), "b": [np.int64(2), float("nan")], "c": {"d": np.inf},
            "e": jnp.arange(2), "f": (np.bool_(True), -np.inf), 3: "x"}
  out = writers.jsonable(record)
  assert out == {"a": 1.5, "b": [2, "nan"], "c": {"d": "inf"}, "e": [0, 1],
                 "f": [True, "-inf"], "3": "x"}
  json.dumps(out, allow_nan=False)  # strict JSON: no NaN/Infinity literals left


def test_eval_summary_prints_what_the_record_holds():
  record = {"step": 7, "swd_x1e3": [12.5, 30.25], "swd_resolutions": [8, 4],
            "swd_mean_x1e3": 21.375, "digits_fd": 3.25, "digits_covered": 9,
            "digits_fd_real": 0.75, "digits_fd_real_protocol": {"num_real": 898},
            "swd_real_mean_x1e3": 30.5, "swd_real_num": 512, "fid_real": 2.5, "fid_real_num": 500,
            "max_class_fraction": 0.2, "kl_to_uniform": 0.125, "w1": 0.5, "fid": 41.0,
            "picture": "samples/0000007.png"}
  line = writers.eval_summary(record)
  for text in ("step 7", "SWD x1e3 mean 21.38 (8:12.5 4:30.2) (real vs real 30.50, n=512)",
               "digits FD 3.25 (real vs real 0.75, n=898)", "digits covered 9/10",
               "exact W1 0.5000", "FID 41 (real vs real 2.5, n=500)", "samples/0000007.png"):
    assert text in line, (text, line)


def test_trim_metrics_keeps_records_up_to_the_resumed_step(tmp_path):
  path = tmp_path / "metrics.jsonl"
  records = [{"kind": "train", "step": s} for s in (1, 2, 3, 4)]
  records += [{"kind": "eval", "step": 4}, {"kind": "eval", "step": 2, "source": "jaxgan evaluate"}]
  path.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"kind": "tra')  # cut by a kill
  assert writers.trim_metrics(str(path), 2) == 4  # steps 3, 4, the eval at 4, the cut line
  kept = [json.loads(l) for l in open(path)]
  assert kept == [records[0], records[1], records[5]]
