"""The roofline of `trit bench` rows over rounds: each generation run is followed by a read-bandwidth
probe over the bytes a token reads (`read_bandwidth_samples`, paired with `samples`), so the share of
the roofline is the median over runs of (bytes/token × tokens/s) / (that run's probe)."""
import statistics


def paired(bytes_per_token, tps_samples, bw_samples):
    """(median % of the roofline, median probe GB/s), or (None, None) without probes."""
    if not bw_samples or len(bw_samples) != len(tps_samples):
        return None, None
    shares = [100 * bytes_per_token * t / 1e9 / b for t, b in zip(tps_samples, bw_samples) if b > 0]
    return statistics.median(shares), statistics.median(bw_samples)
