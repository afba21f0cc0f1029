"""Chains of real pedalboard plugins: the JSON format, errors that list the valid names or
the expected type, parameters by path, allowed roots, and streaming in blocks that matches
one whole call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pedalboard
import pytest
from pedalboard.io import AudioFile

from plugin_host.chain import NOT_STREAMABLE, Chain, ChainError, builtin_plugins
from plugin_host.paths import AllowedRoots

SR = 44100


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Stereo noise with a loud middle second (so compressors and gates move): [2, T]."""
    rng = np.random.default_rng(seed)
    x = (0.2 * rng.standard_normal((2, int(seconds * SR)))).astype(np.float32)
    x[:, SR : 2 * SR] *= 3.0
    return x


def stream(chain: Chain, section: str, x: np.ndarray, block: int) -> np.ndarray:
    s = chain.stream(section, SR, x.shape[0], x.shape[1])
    parts = [s.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)]
    return np.concatenate([*parts, s.finish()], axis=1)


def test_json_file_round_trip(tmp_path: Path):
    spec = {
        "input_chain": [{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 80.0}}],
        "target_chain": [{"plugin": "Reverb", "params": {"room_size": 0.7}}],
        "output_chain": [
            {"plugin": "Compressor", "params": {"threshold_db": -18.0, "ratio": 3.0}},
            {"plugin": "LadderFilter", "params": {"mode": "HPF24"}},
            {"plugin": "Limiter", "stream": True},
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(spec))
    chain = Chain.from_json(tmp_path / "c.json")
    assert isinstance(chain.output_chain, pedalboard.Pedalboard) and len(chain.output_chain) == 3
    d = chain.to_dict()
    assert d["output_chain"][0]["params"] == {
        "attack_ms": 1.0, "ratio": 3.0, "release_ms": 100.0, "threshold_db": -18.0
    }  # fmt: skip
    assert d["output_chain"][1]["params"]["mode"] == "HPF24"
    assert d["output_chain"][2]["stream"] is True
    again = Chain.from_json(json.loads(json.dumps(d)))
    assert again.to_dict() == d


def test_set_and_get_param():
    chain = Chain.from_json(
        {"output_chain": [{"plugin": "Compressor"}, {"plugin": "LadderFilter"}]}
    )
    chain.set_param("output_chain/0/threshold_db", -24.5)
    assert chain.get_param("output_chain/0/threshold_db") == -24.5
    assert getattr(chain.output_chain[0], "threshold_db") == -24.5  # noqa: B009 - untyped
    chain.set_param("output_chain/1/mode", "BPF24")
    assert chain.get_param("output_chain/1/mode") == 5.0
    assert "output_chain/0/ratio" in chain.param_names()
    for name, message in [
        ("output_chain/0/treshold_db", "valid: attack_ms, ratio, release_ms, threshold_db"),
        ("output_chain/2/ratio", "valid indices: 0..1"),
        ("input_chain/0/ratio", "input_chain is empty"),
        ("mix/0/ratio", "section one of input_chain, target_chain, output_chain"),
    ]:
        with pytest.raises(ChainError, match=message.replace(".", r"\.")):
            chain.set_param(name, 1.0)
    with pytest.raises(ChainError, match="must be a value >= 1"):
        chain.set_param("output_chain/0/ratio", 0.5)
    with pytest.raises(ChainError, match="not a finite number"):
        chain.set_param("output_chain/0/ratio", float("nan"))
    assert chain.get_param("output_chain/0/ratio") == 1.0  # unchanged by the failures


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"output_chain": [{"plugin": "Reverbb"}]}, "unknown plugin 'Reverbb'; valid: Bitcrush"),
        ({"output_chain": [{"plugin": "Delay", "params": {"time": 1}}]},
         "unknown parameter 'time' for Delay; valid: delay_seconds, feedback, mix"),
        ({"output_chain": [{"plugin": "Delay", "params": {"delay_seconds": 99}}]},
         "bad value 99 for Delay.delay_seconds"),
        ({"output_chain": [{"plugin": "Delay", "params": {"mix": "loud"}}]},
         "chain: output_chain[0]: Delay.mix: expected a number, got 'loud'"),
        ({"output_chain": [{"plugin": "Delay", "params": {"mix": None}}]}, "mix is null"),
        ({"output_chain": [{"plugin": "LadderFilter", "params": {"mode": "LPF99"}}]},
         "valid: LPF12, HPF12"),
        ({"outputs": []}, "unknown section 'outputs'; valid: input_chain, target_chain"),
        ({"input_chain": {"plugin": "Gain"}}, "input_chain must be a list"),
        ({"input_chain": ["Gain"]}, "each plugin must be an object"),
        ({"input_chain": [{"plugin": "Gain", "gain": 1}]}, "unknown key 'gain'; valid: plugin"),
        ({"input_chain": [{"vst3": "missing.vst3"}]}, "VST3 plugin 'missing.vst3' not found"),
        ({"input_chain": [{"plugin": "Convolution"}]}, "needs impulse_response_filename"),
    ],
)  # fmt: skip
def test_errors_name_the_entry_and_list_valid_names(spec: dict, message: str):
    with pytest.raises(ChainError) as err:
        Chain.from_json(spec)
    text = str(err.value)
    assert message in text and "\n" not in text, text


def test_file_errors(tmp_path: Path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ChainError, match=r"bad\.json: not valid JSON"):
        Chain.from_json(tmp_path / "bad.json")
    with pytest.raises(ChainError, match="chain file not found"):
        Chain.from_json(tmp_path / "none.json")
    (tmp_path / "fake.vst3").write_text("not a plugin")
    with pytest.raises(ChainError, match=r"cannot load VST3 '.*fake\.vst3' \(VST3Plugin: Unable"):
        Chain.from_json({"input_chain": [{"vst3": str(tmp_path / "fake.vst3")}]})
    (tmp_path / "c.json").write_text(json.dumps({"input_chain": [{"vst3": "fake.vst3"}]}))
    with pytest.raises(ChainError, match="cannot load VST3"):  # relative to the chain file
        Chain.from_json(tmp_path / "c.json")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(ChainError, match="outside the allowed roots"):
        Chain.from_json(tmp_path / "c.json", allow_roots=AllowedRoots([tmp_path / "elsewhere"]))


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"plugin": "Gain", "params": {"gain_db": "loud"}},
         "Gain.gain_db: expected a number, got 'loud'"),
        ({"plugin": "Gain", "params": {"gain_db": True}},
         "Gain.gain_db: expected a number, got True"),
        ({"plugin": "Reverb", "params": {"room_size": "big"}},
         "Reverb.room_size: expected a number, got 'big'"),
        ({"plugin": "BrickwallLimiter", "params": {"true_peak": "yes"}},
         "BrickwallLimiter.true_peak: expected true or false, got 'yes'"),
        ({"plugin": "BrickwallLimiter", "params": {"true_peak": 0.5}},
         "BrickwallLimiter.true_peak: expected true or false, got 0.5"),
    ],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_one_line_naming_the_file(
    tmp_path: Path, entry: dict, message: str
):
    """pybind11's own text ("incompatible function arguments", several lines) never shows:
    the type each parameter takes comes from the plugin's current value."""
    (tmp_path / "c.json").write_text(json.dumps({"output_chain": [entry]}))
    with pytest.raises(ChainError) as err:
        Chain.from_json(tmp_path / "c.json")
    assert str(err.value) == f"{tmp_path / 'c.json'}: output_chain[0]: {message}"


def test_set_param_checks_the_type_and_takes_booleans_as_0_or_1():
    chain = Chain.from_json({"output_chain": [{"plugin": "Gain"},
                                              {"plugin": "BrickwallLimiter",
                                               "params": {"true_peak": False}}]})  # fmt: skip
    with pytest.raises(ChainError) as err:
        chain.set_param("output_chain/0/gain_db", "loud")
    assert str(err.value) == "output_chain/0: Gain.gain_db: expected a number, got 'loud'"
    assert chain.get_param("output_chain/0/gain_db") == 1.0  # unchanged: Gain defaults to 1 dB
    chain.set_param("output_chain/1/true_peak", 1.0)  # OSC sends numbers
    assert getattr(chain.output_chain[1], "true_peak") is True  # noqa: B009 - untyped
    assert chain.to_dict()["output_chain"][1]["params"]["true_peak"] is True


def test_plugin_files_must_resolve_inside_the_allowed_roots(tmp_path: Path):
    """Chain file, impulse response: each resolved (symlinks followed) and checked against
    one :class:`AllowedRoots`; a symlink inside the root pointing out of it is refused."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    ir = np.zeros((1, 64), np.float32)
    ir[0, 0] = 1.0
    for folder in (root, outside):
        with AudioFile(str(folder / "ir.wav"), "w", SR, 1, bit_depth=32) as f:
            f.write(ir)
    (root / "link.wav").symlink_to(outside / "ir.wav")
    roots = AllowedRoots([root])
    for name, ok in (("ir.wav", True), ("link.wav", False), ("../outside/ir.wav", False)):
        spec = {"output_chain": [{"plugin": "Convolution",
                                  "params": {"impulse_response_filename": name}}]}  # fmt: skip
        (root / "c.json").write_text(json.dumps(spec))
        if ok:
            chain = Chain.from_json(root / "c.json", allow_roots=roots)
            assert chain.file_paths() == [root / name]
            continue
        with pytest.raises(ChainError) as err:
            Chain.from_json(root / "c.json", allow_roots=roots)
        assert "output_chain[0]: impulse_response_filename:" in str(err.value)
        assert "resolves outside the allowed roots" in str(err.value)
    (outside / "c.json").write_text(json.dumps({}))
    with pytest.raises(ChainError, match=r"c\.json: chain: .* resolves outside the allowed roots"):
        Chain.from_json(outside / "c.json", allow_roots=roots)


def test_convolution_reads_its_impulse_relative_to_the_chain_file(tmp_path: Path):
    ir = np.zeros((1, 2000), np.float32)
    ir[0, 0], ir[0, 1500] = 1.0, 0.5
    with AudioFile(str(tmp_path / "ir.wav"), "w", SR, 1, bit_depth=32) as f:
        f.write(ir)
    spec = {"output_chain": [{"plugin": "Convolution",
                              "params": {"impulse_response_filename": "ir.wav", "mix": 1.0}}]}  # fmt: skip
    (tmp_path / "c.json").write_text(json.dumps(spec))
    chain = Chain.from_json(tmp_path / "c.json")
    assert chain.file_paths() == [tmp_path / "ir.wav"]
    x = noise(1.0)
    y = stream(chain, "output_chain", x, 10_000)
    np.testing.assert_allclose(y, chain.output_chain(x, SR), atol=1e-6)


@pytest.mark.parametrize("name", sorted(set(builtin_plugins()) - {"Convolution"}))
def test_every_builtin_streams_like_one_whole_call(name: str):
    """Latency-free plugins run continuously in blocks (reset=False): bit-exact with one
    call. Plugins in NOT_STREAMABLE run in crossfaded windows: they keep the length and the
    level envelope (per 100 ms, within 1.5 dB) though not the exact samples (codecs and the
    pitch shifter restart per window)."""
    chain = Chain.from_json({"input_chain": [{"plugin": name}]})
    x = noise(3.2)
    whole = chain.input_chain(x, SR)
    got = stream(chain, "input_chain", x, 9_973)
    assert got.shape == x.shape
    if name not in NOT_STREAMABLE:
        np.testing.assert_array_equal(got, whole)
        return

    def level(a: np.ndarray) -> np.ndarray:
        return 10 * np.log10((a[:, : 31 * 4410].reshape(2, 31, 4410) ** 2).mean(axis=(0, 2)))

    assert np.abs(level(got) - level(whole))[1:-1].max() < 1.5


def test_streaming_survives_tiny_and_uneven_blocks():
    """A Reverb tail carries across blocks of 1..5000 samples, the first block small (a
    fresh plugin would otherwise be re-prepared, losing its state, when blocks grow)."""
    chain = Chain.from_json({"output_chain": [{"plugin": "Reverb", "params": {"room_size": 0.9}},
                                              {"plugin": "Compressor", "params": {"ratio": 4}}]})  # fmt: skip
    x = noise(1.5)
    whole = chain.output_chain(x, SR)
    s = chain.stream("output_chain", SR, 2, x.shape[1])
    rng = np.random.default_rng(1)
    parts, i = [], 0
    while i < x.shape[1]:
        n = int(rng.integers(1, 5000)) if i else 7
        parts.append(s.process(x[:, i : i + n]))
        i += n
    got = np.concatenate([*parts, s.finish()], axis=1)
    np.testing.assert_allclose(got, whole, atol=2e-6)  # float32 rounding of block splits


def test_forced_windowed_mode_on_a_streamable_plugin():
    """``"stream": false`` runs a plugin in windows (e.g. a VST3 with unreported latency);
    for a memoryless plugin the crossfaded windows reproduce the whole call."""
    chain = Chain.from_json({"input_chain": [{"plugin": "Distortion", "stream": False}]})
    x = noise(4.0)
    np.testing.assert_allclose(stream(chain, "input_chain", x, 30_000),
                               chain.input_chain(x, SR), atol=1e-6)  # fmt: skip
