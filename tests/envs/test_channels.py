"""Tests of splitgym.envs.channels: closed forms vs Monte-Carlo simulation, processes, seeding, validation.

Statistical checks compare an estimate with its expectation within ``Z`` standard errors, the standard error
being estimated from the simulated sample itself (or from independent links for correlated processes).
All seeds are fixed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import integrate, special, stats

from splitgym.envs.channels import (
    FadingModel,
    FiniteStateMarkovChannel,
    GilbertElliottChannel,
    GudmundsonShadowing,
    MarkovChannel,
    NakagamiFading,
    RayleighFading,
    RicianFading,
    ber_awgn,
    ber_nakagami,
    ber_rayleigh,
    ber_rayleigh_interval,
    bits_per_symbol,
    db_to_linear,
    doppler_frequency,
    linear_to_db,
    noise_power_dbm,
    outage_probability,
    packet_erasure_probability,
    rho_from_doppler,
    shannon_rate,
    snr_db,
    truncated_shannon_rate,
    umi_breakpoint_distance_m,
    umi_los_probability,
    umi_path_loss_db,
)

Z = 5.0  # standard errors allowed in statistical checks
FloatArray = NDArray[np.float64]


def within(estimate: float, expected: float, standard_error: float, z: float = Z) -> bool:
    return abs(estimate - expected) <= z * standard_error


# ----------------------------------------------------------------------------------------------------
# Monte-Carlo modem: Gray-mapped BPSK / square QAM over AWGN at a given (per-symbol) Es/N0
# ----------------------------------------------------------------------------------------------------
LEVELS = {"qpsk": 2, "16qam": 4, "64qam": 8}  # PAM levels per dimension


def simulate_ber(modulation: str, snr: FloatArray, rng: np.random.Generator) -> tuple[float, float]:
    """Bit error rate and its standard error; one symbol per entry of ``snr`` (linear Es/N0)."""
    n = snr.size
    if modulation == "bpsk":
        bits = rng.integers(2, size=n)
        received = (1.0 - 2.0 * bits) + rng.standard_normal(n) / np.sqrt(2.0 * snr)
        errors = (received < 0).astype(np.int64) ^ bits
    else:
        levels = LEVELS[modulation]
        energy = 2.0 * (levels**2 - 1) / 3.0  # mean symbol energy of the unnormalised grid
        errors = np.zeros(n, dtype=np.int64)
        for _ in range(2):  # in-phase and quadrature are independent Gray PAM
            index = rng.integers(levels, size=n)
            received = 2 * index - (levels - 1) + rng.standard_normal(n) * np.sqrt(energy / (2.0 * snr))
            decided = np.clip(np.rint((received + levels - 1) / 2.0), 0, levels - 1).astype(np.int64)
            errors += np.bitwise_count((index ^ (index >> 1)) ^ (decided ^ (decided >> 1)))
    k = bits_per_symbol(modulation)
    return float(errors.mean() / k), float(errors.std() / k / math.sqrt(n))


# exact Gray BER over AWGN as sum_i c_i Q(d_i x), x = sqrt(3 SNR/(M-1)) (Cho & Yoon 2002)
EXACT_QAM = {
    "16qam": (16, [(3 / 4, 1), (2 / 4, 3), (-1 / 4, 5)]),
    "64qam": (64, [(7 / 12, 1), (6 / 12, 3), (-1 / 12, 5), (1 / 12, 9), (-1 / 12, 13)]),
}


def exact_ber(modulation: str, snr: float, average: Callable[[float], float]) -> float:
    """Exact Gray BER; ``average(s)`` returns the BPSK BER ``Q(sqrt(2 s))`` (averaged or not) at SNR ``s``."""
    if modulation not in EXACT_QAM:
        return average(snr) if modulation == "bpsk" else average(snr / 2.0)
    order, terms = EXACT_QAM[modulation]
    return sum(c * average(snr * 3.0 * d**2 / (2.0 * (order - 1))) for c, d in terms)


AWGN_SNR_DB = {"bpsk": [0, 4, 7], "qpsk": [3, 7, 10], "16qam": [10, 14, 17], "64qam": [16, 20, 23]}


@pytest.mark.parametrize("modulation", list(AWGN_SNR_DB))
def test_ber_awgn_matches_simulation(modulation: str) -> None:
    rng = np.random.default_rng(1)
    for snr in db_to_linear(AWGN_SNR_DB[modulation]):
        simulated, se = simulate_ber(modulation, np.full(200_000, snr), rng)
        assert 5e-4 < simulated < 0.1
        assert within(simulated, float(ber_awgn(snr, modulation)), se), (modulation, snr)


def bpsk_awgn(s: float) -> float:
    return float(ber_awgn(s, "bpsk"))


def test_qam_approximation_vs_exact_awgn() -> None:
    for modulation in EXACT_QAM:
        for snr in db_to_linear(AWGN_SNR_DB[modulation]):
            exact = exact_ber(modulation, snr, bpsk_awgn)
            assert abs(float(ber_awgn(snr, modulation)) / exact - 1.0) < 0.01


@pytest.mark.parametrize("modulation", list(AWGN_SNR_DB))
@pytest.mark.parametrize(("fading", "m"), [("rayleigh", 1.0), ("nakagami", 0.5), ("nakagami", 2.5)])
def test_ber_fading_matches_simulation(modulation: str, fading: str, m: float) -> None:
    rng = np.random.default_rng(2)
    for mean_snr_db in (10.0, 20.0):
        mean_snr = float(db_to_linear(mean_snr_db))
        gains = rng.exponential(1.0, 300_000) if fading == "rayleigh" else rng.gamma(m, 1.0 / m, 300_000)
        simulated, se = simulate_ber(modulation, mean_snr * gains, rng)
        if fading == "rayleigh":
            formula = float(ber_rayleigh(mean_snr, modulation))
            reference = exact_ber(modulation, mean_snr, lambda s: float(ber_rayleigh(s, "bpsk")))
        else:
            formula = float(ber_nakagami(mean_snr, m, modulation))
            reference = exact_ber(modulation, mean_snr, lambda s: float(ber_nakagami(s, m, "bpsk")))
        assert within(simulated, reference, se), (modulation, fading, m, mean_snr_db)
        # QAM uses the nearest-neighbour approximation, optimistic by up to ~30 % here; BPSK/QPSK are exact
        tolerance = 0.30 if modulation in EXACT_QAM else 1e-12
        assert 0.0 <= 1.0 - formula / reference < tolerance


def craig_nakagami(c: float, m: float) -> float:
    """``E[Q(sqrt(2 g SNR))]`` by numerical integration of Craig's form, ``c = g mean_snr / m``."""
    return float(integrate.quad(lambda t: (1 + c / math.sin(t) ** 2) ** -m, 0, math.pi / 2)[0]) / math.pi


def test_ber_nakagami_closed_form_against_craig_integral() -> None:
    for m in (0.5, 0.8, 1.0, 2.0, 3.7, 12.0, 60.0):
        for mean_snr in (1e-3, 0.3, 1.0, 10.0, 1e3):
            for modulation, a, b in (("bpsk", 1.0, 2.0), ("16qam", 0.75, 0.2)):
                expected = a * craig_nakagami(b * mean_snr / (2.0 * m), m)
                assert float(ber_nakagami(mean_snr, m, modulation)) == pytest.approx(expected, rel=1e-7)
    snrs = np.logspace(-2, 4, 30)
    np.testing.assert_allclose(ber_nakagami(snrs, 1.0, "qpsk"), ber_rayleigh(snrs, "qpsk"), rtol=1e-10)
    assert float(ber_nakagami(0.0, 2.0, "16qam")) == 0.75 / 2


def test_ber_values_from_dossier() -> None:
    # dossier section 3.6 (Eb/N0 in dB -> symbol SNR = Eb/N0 * log2 M)
    assert float(ber_awgn(db_to_linear(10.0), "bpsk")) == pytest.approx(3.9e-6, rel=0.02)
    assert float(ber_rayleigh(db_to_linear(20.0), "bpsk")) == pytest.approx(2.5e-3, rel=0.02)
    assert float(ber_awgn(4 * db_to_linear(10.0), "16qam")) == pytest.approx(1.8e-3, rel=0.05)
    assert float(ber_rayleigh(4 * db_to_linear(20.0), "16qam")) == pytest.approx(4.6e-3, rel=0.03)


def test_ber_rayleigh_interval() -> None:
    mean_snr, bounds = 8.0, [0.0, 0.5, 2.0, 9.0, 30.0, np.inf]
    whole = ber_rayleigh_interval(mean_snr, 0.0, np.inf, "qpsk")
    np.testing.assert_allclose(whole, ber_rayleigh(mean_snr, "qpsk"))
    rng = np.random.default_rng(3)
    gamma = rng.exponential(mean_snr, 400_000)
    for low, high in itertools.pairwise(bounds):
        inside = ber_awgn(gamma[(gamma >= low) & (gamma < high)], "bpsk")
        value = float(ber_rayleigh_interval(mean_snr, low, high, "bpsk"))
        assert within(float(inside.mean()), value, float(inside.std()) / math.sqrt(inside.size) + 1e-15)
        numeric = integrate.quad(lambda g: float(ber_awgn(g, "bpsk")) * math.exp(-g / mean_snr), low, high)[0]
        probability = math.exp(-low / mean_snr) - math.exp(-high / mean_snr)
        assert value == pytest.approx(numeric / mean_snr / probability, rel=1e-6)


@pytest.mark.parametrize("m", [0.5, 1.0, 2.7])
def test_outage_probability_matches_simulation(m: float) -> None:
    rng = np.random.default_rng(4)
    mean_snr = 10.0
    gamma = mean_snr * rng.gamma(m, 1.0 / m, 200_000)
    for threshold in (1.0, 5.0, 10.0):
        p = float(outage_probability(mean_snr, threshold, m))
        assert within(float(np.mean(gamma < threshold)), p, math.sqrt(p * (1 - p) / gamma.size))
    assert float(outage_probability(mean_snr, 2.0)) == pytest.approx(1.0 - math.exp(-0.2))


def test_packet_erasure_probability_matches_simulation() -> None:
    rng = np.random.default_rng(5)
    ber = 3e-3
    for bits in (50, 300):
        per = float(packet_erasure_probability(ber, bits))
        erased = (rng.random((10_000, bits)) < ber).any(axis=1)
        assert within(float(erased.mean()), per, math.sqrt(per * (1 - per) / erased.size))
    assert float(packet_erasure_probability(1e-12, 12_000)) == pytest.approx(1.2e-8, rel=1e-6)
    assert float(packet_erasure_probability(1.0, 0)) == 0.0


# ----------------------------------------------------------------------------------------------------
# Link budget and rates
# ----------------------------------------------------------------------------------------------------
def test_noise_power_and_db_helpers() -> None:
    noise = noise_power_dbm([10e6, 20e6, 50e6, 100e6], 5.0)
    np.testing.assert_allclose(noise, [-99, -96, -92, -89], atol=0.1)  # dossier section 3.1
    np.testing.assert_allclose(linear_to_db(db_to_linear([-30.0, 0.0, 17.5])), [-30.0, 0.0, 17.5])
    assert float(linear_to_db(0.0)) == -np.inf


def test_rates() -> None:
    assert float(shannon_rate(3.0, 1e6)) == pytest.approx(2e6)
    snr = db_to_linear([-15.0, -9.0, 5.0, 40.0])
    se = truncated_shannon_rate(snr, 1.0)
    assert se[0] == 0.0
    np.testing.assert_allclose(se[1:3], 0.6 * np.log2(1 + snr[1:3]))
    assert se[3] == 4.4


# ----------------------------------------------------------------------------------------------------
# Fading models
# ----------------------------------------------------------------------------------------------------
def stationary_gains(model: RayleighFading | RicianFading | NakagamiFading, n: int, steps: int) -> FloatArray:
    gains = model.reset(np.random.default_rng(6), n)
    for _ in range(steps):
        gains = model.step()
    return gains


def assert_moments(gains: FloatArray, mean: float, variance: float) -> None:
    n = gains.size
    assert within(float(gains.mean()), mean, float(gains.std()) / math.sqrt(n))
    centred = (gains - gains.mean()) ** 2
    assert within(float(centred.mean()), variance, float(centred.std()) / math.sqrt(n))


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_fading_moments(rho: float) -> None:
    n, steps = 50_000, 2
    assert_moments(stationary_gains(RayleighFading(rho), n, steps), 1.0, 1.0)
    for k in (0.0, 3.0, float(db_to_linear(9.0))):
        assert_moments(stationary_gains(RicianFading(k, rho), n, steps), 1.0, (1 + 2 * k) / (k + 1) ** 2)
    for m in (0.5, 1.0, 3.0):
        assert_moments(stationary_gains(NakagamiFading(m, rho), n, steps), 1.0, 1.0 / m)


def test_rician_k_factor_is_los_power() -> None:
    k, steps = 4.0, 5000
    model = RicianFading.from_db(10 * math.log10(k))
    assert model.k_factor == pytest.approx(k)
    model.reset(np.random.default_rng(7), 8)
    total = np.zeros(8, dtype=np.complex128)
    for _ in range(steps):
        model.step()
        total += model.coefficient
    los_amplitude = np.abs(total / steps)  # per link: |E h| = sqrt(K / (K + 1))
    se = math.sqrt(1.0 / (2.0 * (k + 1.0) * steps))
    assert np.all(np.abs(los_amplitude - math.sqrt(k / (k + 1))) < Z * se)


def coefficients(model: RayleighFading | NakagamiFading, n: int, steps: int) -> NDArray[np.complex128]:
    model.reset(np.random.default_rng(8), n)
    rows = [model.coefficient]
    for _ in range(steps):
        model.step()
        rows.append(model.coefficient)
    return np.array(rows)


def test_ar1_autocorrelation() -> None:
    rho = 0.9
    h = coefficients(RayleighFading(rho), 3000, 100)
    for lag in range(1, 6):
        per_link = (h[lag:] * np.conj(h[:-lag])).mean(axis=0)
        se = float(per_link.real.std()) / math.sqrt(per_link.size)
        assert within(float(per_link.real.mean()), rho**lag, se), lag
        assert within(float(per_link.imag.mean()), 0.0, float(per_link.imag.std()) / math.sqrt(per_link.size))


def test_doppler_correlation() -> None:
    speed, carrier, block = 30 / 3.6, 3.5e9, 1e-3
    f_d = speed * carrier / 299_792_458.0
    assert doppler_frequency(speed, carrier) == pytest.approx(f_d)
    expected = float(special.j0(2 * math.pi * f_d * block))
    rho = rho_from_doppler(speed, carrier, block)
    assert rho == pytest.approx(expected) and 0.85 < rho < 0.95
    h = coefficients(RayleighFading(rho), 3000, 60)
    per_link = (h[1:] * np.conj(h[:-1])).mean(axis=0).real
    assert within(float(per_link.mean()), expected, float(per_link.std()) / math.sqrt(per_link.size))
    # J0 is negative at 2 pi f_D T = 3.83 (first minimum): clipped to 0; a static user is capped at 0.9999
    assert rho_from_doppler(speed, carrier, 3.8317 / (2 * math.pi * f_d)) == 0.0
    assert rho_from_doppler(0.0, carrier, block) == 0.9999
    assert rho_from_doppler(3 / 3.6, 3.5e9, 10e-3) == pytest.approx(0.91, abs=0.01)  # dossier section 3.2


@pytest.mark.parametrize("m", [0.5, 2.5])
def test_correlated_nakagami_marginal_and_correlation(m: float) -> None:
    model = NakagamiFading(m, rho=0.9)
    gains = [model.reset(np.random.default_rng(9), 20_000)]
    for _ in range(8):
        gains.append(model.step())
    result = stats.kstest(gains[-1], stats.gamma(a=m, scale=1.0 / m).cdf)
    assert result.pvalue > 1e-3
    lag_one = np.corrcoef(gains[-2], gains[-1])[0, 1]
    assert abs(lag_one - 0.9**2) < 0.03  # exactly rho^2 for m = 1, close to it otherwise


def test_nakagami_m1_is_rayleigh() -> None:
    rayleigh, nakagami = RayleighFading(0.7), NakagamiFading(1.0, 0.7)
    g_r, g_n = rayleigh.reset(np.random.default_rng(10), 50), nakagami.reset(np.random.default_rng(10), 50)
    np.testing.assert_allclose(g_n, g_r, rtol=1e-9)
    for _ in range(5):
        np.testing.assert_allclose(nakagami.step(), rayleigh.step(), rtol=1e-9)


def test_fading_shapes() -> None:
    model = RicianFading(2.0, 0.5)
    assert model.reset(np.random.default_rng(0), 7).shape == (7,)
    assert model.step().shape == (7,) and model.n_links == 7
    with pytest.raises(RuntimeError, match="before reset"):
        RayleighFading().step()


# ----------------------------------------------------------------------------------------------------
# Markov channels
# ----------------------------------------------------------------------------------------------------
def run_chain(chain: MarkovChannel, n: int, steps: int, seed: int) -> NDArray[np.int64]:
    states = [chain.reset(np.random.default_rng(seed), n)]
    states.extend(chain.step() for _ in range(steps))
    return np.array(states)


def test_fsmc_structure() -> None:
    mean_snr = 10.0
    chain = FiniteStateMarkovChannel(mean_snr, doppler_hz=40.0, block_s=1e-3, n_states=6)
    p = chain.transition_matrix
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert np.all((p >= 0) & (p <= 1))
    assert np.all(np.triu(p, 2) == 0) and np.all(np.tril(p, -2) == 0)  # adjacent-only moves
    np.testing.assert_allclose(chain.stationary_distribution, 1 / 6, atol=1e-12)  # equiprobable thresholds
    np.testing.assert_allclose(chain.stationary_distribution @ p, chain.stationary_distribution, atol=1e-12)
    bounds = chain.thresholds
    assert bounds[0] == 0 and bounds[-1] == np.inf
    assert np.all((chain.state_snr >= bounds[:-1]) & (chain.state_snr < bounds[1:]))
    pi = chain.stationary_distribution
    assert float(pi @ chain.state_snr) == pytest.approx(mean_snr)
    assert float(pi @ chain.state_ber) == pytest.approx(float(ber_rayleigh(mean_snr, "qpsk")))
    assert np.all(np.diff(chain.state_ber) < 0)
    custom = FiniteStateMarkovChannel(mean_snr, 40.0, 1e-3, n_states=3, thresholds=[2.0, 15.0])
    pi_custom = -np.diff(np.exp(-np.array([0.0, 2.0, 15.0, np.inf]) / mean_snr))
    np.testing.assert_allclose(custom.stationary_distribution, pi_custom)


def test_fsmc_simulation_matches_chain() -> None:
    chain = FiniteStateMarkovChannel(10.0, doppler_hz=40.0, block_s=1e-3, n_states=6)
    states = run_chain(chain, 2000, 300, seed=11)
    occupancy = np.stack([(states == k).mean(axis=0) for k in range(6)])  # (state, link)
    se = occupancy.std(axis=1) / math.sqrt(states.shape[1])
    assert np.all(np.abs(occupancy.mean(axis=1) - chain.stationary_distribution) < Z * se)
    counts = np.zeros((6, 6))
    np.add.at(counts, (states[:-1].ravel(), states[1:].ravel()), 1)
    visits = counts.sum(axis=1, keepdims=True)
    p = chain.transition_matrix
    assert np.all(np.abs(counts / visits - p) <= Z * np.sqrt(p * (1 - p) / visits) + 1e-12)
    assert np.array_equal(chain.ber, chain.state_ber[chain.state])
    assert np.array_equal(chain.snr, chain.state_snr[chain.state])


def test_gilbert_elliott() -> None:
    p_gb, p_bg = 0.05, 0.3
    chain = GilbertElliottChannel()
    np.testing.assert_allclose(chain.stationary_distribution, [p_bg / (p_gb + p_bg), p_gb / (p_gb + p_bg)])
    assert chain.state_ber.tolist() == [1e-6, 1e-2]
    states = run_chain(chain, 500, 2000, seed=12)
    bad = states.mean(axis=0)
    assert within(float(bad.mean()), p_gb / (p_gb + p_bg), float(bad.std()) / math.sqrt(bad.size))
    # burst lengths of Bad, excluding bursts cut by the start or end of the record
    padded = np.pad(states.T, ((0, 0), (1, 1))).ravel()
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    row = padded.size // states.shape[1]
    inside = (starts % row != 0) & (ends % row != row - 2)
    lengths = (ends - starts)[inside]
    assert within(float(lengths.mean()), 1 / p_bg, float(lengths.std()) / math.sqrt(lengths.size))
    assert np.array_equal(chain.ber, chain.state_ber[chain.state])


# ----------------------------------------------------------------------------------------------------
# Path loss and shadowing
# ----------------------------------------------------------------------------------------------------
def test_umi_path_loss_shape() -> None:
    d = np.linspace(10.0, 5000.0, 3000)
    los, nlos = umi_path_loss_db(d, True), umi_path_loss_db(d, False)
    assert np.all(np.diff(los) > 0) and np.all(np.diff(nlos) > 0)
    assert np.all(nlos >= los)
    d_bp = umi_breakpoint_distance_m()
    assert d_bp == pytest.approx(210.0)
    edge = umi_path_loss_db([d_bp - 1e-6, d_bp + 1e-6], True)
    assert abs(edge[1] - edge[0]) < 1e-3  # continuous at the breakpoint
    mixed = umi_path_loss_db([50.0, 50.0], np.array([True, False]))
    assert mixed[0] < mixed[1]


def test_umi_los_probability() -> None:
    d = np.linspace(1.0, 18.0, 50)
    np.testing.assert_array_equal(umi_los_probability(d), 1.0)
    far = umi_los_probability(np.linspace(18.0, 2000.0, 500))
    assert np.all(np.diff(far) < 0) and np.all(far > 0)
    assert float(umi_los_probability(100.0)) == pytest.approx(0.18 + math.exp(-100 / 36) * 0.82)


def test_umi_snr_table_from_dossier() -> None:
    d = [20.0, 50.0, 100.0, 200.0, 300.0, 500.0]
    table = {True: [47.6, 39.9, 33.7, 27.4, 20.7, 11.9], False: [37.8, 24.8, 14.3, 3.8, -2.4, -10.3]}
    for los, expected in table.items():
        snr = snr_db(umi_path_loss_db(d, los), tx_power_dbm=23.0, bandwidth_hz=20e6, noise_figure_db=5.0)
        np.testing.assert_allclose(snr, expected, atol=0.1)  # the table is rounded to 0.1 dB
    faded = float(snr_db(100.0, shadowing_db=3.0, fading_gain=0.1))
    assert faded == pytest.approx(23 - 100 - 3 + 96 - 10, abs=0.1)


def test_gudmundson_shadowing() -> None:
    sigma, d_corr, step = 7.82, 13.0, 5.0
    process = GudmundsonShadowing.umi(los=False)
    assert (process.sigma_db, process.decorrelation_m) == (sigma, d_corr)
    n = 40_000
    previous = process.reset(np.random.default_rng(13), n)
    for _ in range(3):
        current = process.step(step)
    previous, current = current, process.step(step)
    centred = current**2
    assert within(float(centred.mean()), sigma**2, float(centred.std()) / math.sqrt(n))
    r = math.exp(-step / d_corr)
    assert within(float(np.corrcoef(previous, current)[0, 1]), r, (1 - r**2) / math.sqrt(n))
    still = process.step(np.zeros(n))
    np.testing.assert_array_equal(still, current)  # no displacement: R = 1


# ----------------------------------------------------------------------------------------------------
# Seeding
# ----------------------------------------------------------------------------------------------------
Process = FadingModel | MarkovChannel | GudmundsonShadowing
FACTORIES: list[Callable[[], Process]] = [
    lambda: RayleighFading(0.5),
    lambda: RicianFading(3.0, 0.5),
    lambda: NakagamiFading(2.0, 0.5),
    lambda: FiniteStateMarkovChannel(10.0, 50.0, 1e-3, n_states=4),
    lambda: GilbertElliottChannel(0.3, 0.3),
    lambda: GudmundsonShadowing(4.0, 10.0),
]


def trajectory(factory: Callable[[], Process], seed: int) -> FloatArray:
    model = factory()
    np.random.seed(seed + 1000)  # the global state must not matter
    rows = [model.reset(np.random.default_rng(seed), 16)]
    for _ in range(10):
        rows.append(model.step(2.0) if isinstance(model, GudmundsonShadowing) else model.step())
    return np.array(rows, dtype=np.float64)


@pytest.mark.parametrize("factory", FACTORIES)
def test_seeding(factory: Callable[[], Process]) -> None:
    np.testing.assert_array_equal(trajectory(factory, 1), trajectory(factory, 1))
    assert not np.array_equal(trajectory(factory, 1), trajectory(factory, 2))


# ----------------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------------
rng0 = np.random.default_rng(0)
BAD_INPUTS: list[tuple[Callable[[], object], str]] = [
    (lambda: NakagamiFading(0.3), r"m must be >= 0.5, got 0.3"),
    (lambda: RayleighFading(rho=1.5), r"rho must be <= 1, got 1.5"),
    (lambda: RicianFading(-1.0), r"k_factor must be >= 0"),
    (lambda: RayleighFading().reset(rng0, 0), r"n must be >= 1, got 0"),
    (lambda: rho_from_doppler(-1.0, 3.5e9, 1e-3), r"speed_mps must be >= 0"),
    (lambda: rho_from_doppler(1.0, 3.5e9, 0.0), r"block_s must be > 0"),
    (lambda: ber_awgn(1.0, "8psk"), r"modulation must be one of bpsk, qpsk, 16qam, 64qam; got '8psk'"),
    (lambda: ber_awgn(-1.0, "bpsk"), r"snr must be >= 0, got -1"),
    (lambda: ber_awgn(float("nan"), "bpsk"), r"snr must be finite, got nan"),
    (lambda: ber_nakagami(10.0, 0.3, "bpsk"), r"m must be >= 0.5"),
    (lambda: ber_rayleigh_interval(1.0, 2.0, 1.0, "bpsk"), r"high must be > low"),
    (lambda: outage_probability(0.0, 1.0), r"mean_snr must be > 0"),
    (lambda: outage_probability(1.0, -1.0), r"threshold must be >= 0"),
    (lambda: packet_erasure_probability(1.5, 10), r"ber must be <= 1"),
    (lambda: packet_erasure_probability(0.1, -1), r"bits must be >= 0"),
    (lambda: noise_power_dbm(0.0, 5.0), r"bandwidth_hz must be > 0"),
    (lambda: truncated_shannon_rate(1.0, 1.0, alpha=0.0), r"alpha must be > 0"),
    (lambda: snr_db(100.0, fading_gain=0.0), r"fading_gain must be > 0"),
    (lambda: umi_path_loss_db(5.0, True), r"d2d_m must be >= 10, got 5"),
    (lambda: umi_path_loss_db(100.0, 1), r"los must be a bool"),
    (lambda: umi_path_loss_db(100.0, True, carrier_hz=200e9), r"carrier_hz must be <= 1e\+11"),
    (lambda: umi_path_loss_db(100.0, True, h_ut_m=30.0), r"h_ut_m must be <= 22.5"),
    (lambda: umi_los_probability(-5.0), r"d2d_m must be > 0"),
    (lambda: FiniteStateMarkovChannel(-1.0, 10.0, 1e-3), r"mean_snr must be > 0"),
    (lambda: FiniteStateMarkovChannel(10.0, 97.0, 1e-3), r"doppler_hz \* block_s = 0.097 is too large"),
    (lambda: FiniteStateMarkovChannel(10.0, 10.0, 1e-3, n_states=1), r"n_states must be >= 2"),
    (lambda: FiniteStateMarkovChannel(10.0, 10.0, 1e-3, n_states=3, thresholds=[5, 1]), r"thresholds must"),
    (lambda: FiniteStateMarkovChannel(10.0, 10.0, 1e-3, modulation="ook"), r"modulation must be one of"),
    (lambda: GilbertElliottChannel(p_gb=0.0), r"p_gb must be > 0"),
    (lambda: GilbertElliottChannel(ber_bad=2.0), r"ber_bad must be <= 1"),
    (lambda: MarkovChannel([[0.5, 0.4], [0.5, 0.5]], [0, 0]), r"rows must sum to 1, row 0"),
    (lambda: MarkovChannel([[1.0, 0.0], [0.0, 1.0]], [0, 0]), r"single stationary distribution"),
    (lambda: GudmundsonShadowing(-1.0, 10.0), r"sigma_db must be >= 0"),
]


@pytest.mark.parametrize(("call", "message"), BAD_INPUTS)
def test_bad_inputs_raise_value_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_state_arguments() -> None:
    process = GudmundsonShadowing(4.0, 10.0)
    process.reset(np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match=r"displacement_m must be scalar or of shape \(3,\)"):
        process.step([1.0, 2.0])
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        RayleighFading().reset(42, 3)  # type: ignore[arg-type]
