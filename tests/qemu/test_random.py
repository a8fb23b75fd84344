"""The kernel's randomness: where the token key comes from, and seed=."""
from delos import check

KEY_LINE = r"tokens: new key for this boot from (.+), fingerprint ([0-9a-f]{8})"


def key_of(machine, **kw):
    """Boots until the tokens cell made its key; returns (source, fingerprint)."""
    m = machine(icount=True, **kw)
    m.expect(r"random: key from ", 60)
    got = m.expect(KEY_LINE, 60)
    m.close()
    return m, got.group(1), got.group(2)


def test_random_seed_makes_the_key_reproducible(machine):
    # The same seed on two different CPUs (one with RDRAND, one without).
    m1, src1, fp1 = key_of(machine, args="seed=42")
    m2, src2, fp2 = key_of(machine, args="seed=0x2a", extra=("-cpu", "max"))
    for m in (m1, m2):
        check("random: key from seed=42 (reproducible, not secret)" in m.transcript,
              "the log does not say the key came from seed=42")
    check(src1 == src2 == "seed=42 (reproducible, not secret)", "sources %r, %r" % (src1, src2))
    check(fp1 == fp2, "seed=42 gave keys %s and %s" % (fp1, fp2))


def test_random_rdrand_key_differs_between_icount_boots(machine):
    # Under -icount the TSC is the same every boot; RDRAND is not. The second
    # boot's bad seed= is refused and ignored, so its key comes from the CPU.
    m1, src1, fp1 = key_of(machine, extra=("-cpu", "max"))
    m2, src2, fp2 = key_of(machine, args="seed=42x", extra=("-cpu", "max"))
    check(src1 == src2 == "rdrand+tsc", "sources %r, %r (want rdrand+tsc)" % (src1, src2))
    check("random: seed='42x' is not a decimal or 0x-hex number below 2^64; ignoring it"
          in m2.transcript, "a bad seed= was not refused by name")
    check(fp1 != fp2, "two boots with RDRAND gave the same key %s" % fp1)


def test_random_without_rdrand_says_so(machine):
    m, src, _ = key_of(machine)
    check(src == "tsc+rtc only (no rdrand)", "source %r on a CPU without RDRAND" % src)
    check("random: key from tsc+rtc only (no rdrand); keys are predictable" in m.transcript,
          "no warning that the key is predictable")
