#!/usr/bin/python3
"""Independent reference values for tests/host/backtest/coverage_tests_test.cpp.

Written from the papers, not from host/backtest/coverage_tests.cpp:
- Kupiec (1995) proportion of failures: the likelihood ratio of two binomial models of the
  exception count x in T observations, H0 P(exception) = p against the MLE x/T. Computed here
  as 2 [log Bin(x; T, x/T) - log Bin(x; T, p)] with scipy.stats.binom.logpmf (the binomial
  coefficient cancels), chi-square(1).
- Christoffersen (1998) independence: the first-order Markov chain of the indicators against
  the independent (Bernoulli) model, both conditional on the first observation. That is the
  likelihood-ratio (G) test of independence in the 2x2 table of consecutive pairs
  (I_{t-1}, I_t), computed here with scipy.stats.chi2_contingency(lambda_="log-likelihood"),
  and again from the paper's formula with 0 log 0 = 0 (scipy.special.xlogy) as a cross-check.
  When a row or column of the table is empty the two models coincide: LR_ind = 0.
  Conditional coverage: LR_cc = LR_pof + LR_ind, chi-square(2) (the sum, as the header states
  and MATLAB's varbacktest computes it).
- binomial_cdf and chi_square_survival: scipy.stats.binom.cdf and scipy.stats.chi2.sf.

Prints the C++ initialisers the test embeds; regenerate with
    /usr/bin/python3 scripts/backtest_reference.py
"""
import numpy as np
from scipy import special, stats

# (name, observations, 0-based indices of the exceptions, VaR level)
CASES = [
    ("no exceptions", 250, [], 0.99),
    ("all exceptions", 20, list(range(20)), 0.99),
    ("clustered", 250, [100, 101, 102, 103, 104], 0.99),
    ("first and last", 250, [0, 249], 0.99),
    ("first only", 100, [0], 0.95),
    ("last only", 100, [99], 0.95),
    ("scattered", 500, list(range(7, 500, 50)), 0.99),
    ("mixed", 1000, [3, 4, 150, 400, 401, 402, 700, 999], 0.99),
    ("pairs at 95%", 300, [5, 6, 30, 31, 32, 60, 90, 120, 121, 150, 180, 181, 210, 240, 270, 299], 0.95),
    ("one observation, an exception", 1, [0], 0.99),
    ("one observation, none", 1, [], 0.99),
]

BINOMIAL_CDF = [(0, 250, 0.01), (4, 250, 0.01), (9, 250, 0.01), (10, 250, 0.01), (249, 250, 0.01),
                (3, 10, 0.5), (0, 1, 0.3), (50, 100, 0.5), (5, 500, 0.05), (12, 1000, 0.01),
                (30, 1000, 0.025), (2, 100, 0.01), (3, 250, 0.01), (11, 250, 0.01), (3, 20, 0.1)]

CHI_SQUARE = [0.01, 0.5, 1.0, 3.841458820694124, 6.634896601021214, 10.0, 30.0, 100.0]


def kupiec(x, n, p):
    return 2.0 * (stats.binom.logpmf(x, n, x / n) - stats.binom.logpmf(x, n, p))


def transition_table(indicators):
    table = np.zeros((2, 2))
    for previous, current in zip(indicators[:-1], indicators[1:]):
        table[previous, current] += 1
    return table


def independence_g_test(table):
    if table.sum() == 0 or (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return 0.0
    g, _, _, _ = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    return g


def independence_formula(table):
    (n00, n01), (n10, n11) = table
    pairs = table.sum()
    if pairs == 0:
        return 0.0
    pi = (n01 + n11) / pairs
    pi01 = n01 / (n00 + n01) if n00 + n01 > 0 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 > 0 else 0.0
    restricted = special.xlogy(n00 + n10, 1 - pi) + special.xlogy(n01 + n11, pi)
    markov = (special.xlogy(n00, 1 - pi01) + special.xlogy(n01, pi01) + special.xlogy(n10, 1 - pi11) +
              special.xlogy(n11, pi11))
    return max(0.0, -2.0 * (restricted - markov))


def cpp_list(values):
    return "{" + ", ".join(str(v) for v in values) + "}"


def main():
    print("// Coverage cases: name, observations, exception indices, level, kupiec_lr, kupiec_p,")
    print("// independence_lr, independence_p, conditional_coverage_lr, conditional_coverage_p,")
    print("// transitions n00, n01, n10, n11.")
    for name, n, where, level in CASES:
        indicators = np.zeros(n, dtype=int)
        indicators[where] = 1
        p = 1.0 - level
        lr_pof = max(0.0, kupiec(len(where), n, p))
        table = transition_table(indicators)
        lr_ind = independence_g_test(table)
        assert abs(lr_ind - independence_formula(table)) <= 1e-9 * max(1.0, lr_ind), name
        lr_cc = lr_pof + lr_ind
        print(f'    {{"{name}", {n}, {cpp_list(where)}, {level!r}, {lr_pof!r}, {stats.chi2.sf(lr_pof, 1)!r}, '
              f'{lr_ind!r}, {stats.chi2.sf(lr_ind, 1)!r}, {lr_cc!r}, {stats.chi2.sf(lr_cc, 2)!r}, '
              f'{{{int(table[0, 0])}, {int(table[0, 1])}, {int(table[1, 0])}, {int(table[1, 1])}}}}},')
    print("// Binomial CDF: k, n, p, P(X <= k).")
    for k, n, p in BINOMIAL_CDF:
        print(f"    {{{k}, {n}, {p!r}, {stats.binom.cdf(k, n, p)!r}}},")
    print("// Chi-square survival: x, P(X > x) with 1 and 2 degrees of freedom.")
    for x in CHI_SQUARE:
        print(f"    {{{x!r}, {stats.chi2.sf(x, 1)!r}, {stats.chi2.sf(x, 2)!r}}},")
    print("// Basel table (99%, 250 observations): exceptions, P(X <= k) in percent.")
    for k in range(0, 11):
        print(f"    // {k}: {100 * stats.binom.cdf(k, 250, 0.01):.4f}")


if __name__ == "__main__":
    main()
