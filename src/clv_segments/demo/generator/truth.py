"""The truth the demo shop is drawn from: BG/NBD and Gamma-Gamma parameters, currencies,
geography, and the shop's behaviour around the process (``ShopSettings``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPORTING_CURRENCY = "EUR"
NEWSLETTER_LIST_ID = "newsletter"
BLOCK_SIZE = 100_000
MAX_CUSTOMERS = 99_999_999

DAY_US = 86_400_000_000
MINUTE = 1.0 / 1440.0
HOUR = 1.0 / 24.0

ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class BgNbdParameters:
    """BG/NBD parameters, time unit one day: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParameters:
    """Gamma-Gamma parameters: nu ~ Gamma(q, rate v), order value ~ Gamma(p, rate nu), in EUR."""

    p: float
    q: float
    v: float


TRUE_BGNBD = BgNbdParameters(r=0.22, alpha=9.0, a=0.5, b=10.0)
TRUE_GAMMA_GAMMA = GammaGammaParameters(p=6.0, q=3.8, v=35.0)  # mean spend 6*35/2.8 = 75 EUR

# 1 unit of the currency = rate EUR; must match the project's fx_rates seed.
FX_RATES: dict[str, float] = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.05}

# (country_code, currency, share of customers, ((region, city, weight within country), ...))
GEOGRAPHY: tuple[tuple[str, str, float, tuple[tuple[str, str, float], ...]], ...] = (
    (
        "DE",
        "EUR",
        0.30,
        (
            ("Bayern", "München", 0.3),
            ("Berlin", "Berlin", 0.3),
            ("Hamburg", "Hamburg", 0.2),
            ("Nordrhein-Westfalen", "Köln", 0.2),
        ),
    ),
    (
        "FR",
        "EUR",
        0.20,
        (
            ("Île-de-France", "Paris", 0.5),
            ("Auvergne-Rhône-Alpes", "Lyon", 0.3),
            ("Provence-Alpes-Côte d'Azur", "Marseille", 0.2),
        ),
    ),
    ("NL", "EUR", 0.10, (("Noord-Holland", "Amsterdam", 0.6), ("Zuid-Holland", "Rotterdam", 0.4))),
    ("BE", "EUR", 0.06, (("Brussels", "Brussels", 0.5), ("Flanders", "Antwerp", 0.5))),
    ("IT", "EUR", 0.07, (("Lombardia", "Milano", 0.5), ("Lazio", "Roma", 0.5))),
    ("ES", "EUR", 0.06, (("Madrid", "Madrid", 0.5), ("Catalonia", "Barcelona", 0.5))),
    ("AT", "EUR", 0.03, (("Wien", "Wien", 1.0),)),
    (
        "US",
        "USD",
        0.08,
        (
            ("California", "Los Angeles", 0.4),
            ("New York", "New York", 0.4),
            ("Texas", "Austin", 0.2),
        ),
    ),
    ("GB", "GBP", 0.06, (("England", "London", 0.7), ("Scotland", "Edinburgh", 0.3))),
    ("CH", "CHF", 0.04, (("Zürich", "Zürich", 0.6), ("Geneva", "Geneva", 0.4))),
)


@dataclass(frozen=True)
class ShopSettings:
    """Behaviour of the simulated shop around the true process (shares are probabilities)."""

    buyer_share: float = 0.75  # the rest never place an order of the process
    signup_before_purchase_share: float = 0.4  # account created days before the first order
    signup_lead_days: float = 20.0
    missing_email_share: float = 0.05
    missing_region_share: float = 0.03
    newsletter_share: float = 0.4  # of customers with an email
    subscribe_later_share: float = 0.3
    subscribe_delay_days: float = 45.0
    accepts_marketing_without_list_share: float = 0.05
    # noise orders, per order of the process
    cancelled_share: float = 0.03
    full_refund_share: float = 0.02
    zero_value_share: float = 0.005
    non_buyer_cancelled_share: float = 0.02
    split_full_refund_share: float = 0.2
    partial_refund_share: float = 0.03
    partial_refund_range: tuple[float, float] = (0.1, 0.5)
    refund_delay_days: float = 7.0
    pos_share: float = 0.10
    subscription_share: float = 0.05
    # email
    campaign_weekday: int = 1  # Tuesday
    campaign_hour: float = 9.0
    bad_email_share: float = 0.02  # hard bounce at the first delivery
    unsubscribe_hazard: float = 0.004  # per delivery
    spam_hazard: float = 0.0001  # per delivery
    manual_suppression_share: float = 0.004
    list_leave_share: float = 0.03  # leave the list without a global unsubscribe
    human_open_rate: float = 0.6  # times the customer's engagement, while interested
    faded_open_rate: float = 0.01  # times the engagement, after interest faded
    apple_mail_share: float = 0.10
    machine_open_rate: float = 0.85
    click_rate_base: float = 0.08  # per human open, plus click_rate_engaged * engagement
    click_rate_engaged: float = 0.25
    click_session_share: float = 0.6
    # browsing
    engagement_beta: tuple[float, float] = (1.5, 3.0)
    interest_days: float = 365.0  # mean time until a customer's interest fades
    interest_after_dropout_days: float = 60.0
    browse_rate: float = 0.018  # sessions per day, times the engagement
    session_view_share: float = 0.75
    session_cart_share: float = 0.12
    session_checkout_share: float = 0.35  # of carts
    # the session before an online order: shares of orders with each event
    order_session_active_share: float = 0.6
    order_session_view_share: float = 0.5
    order_session_cart_share: float = 0.7
    order_session_checkout_share: float = 0.95


@dataclass
class GenerationSummary:
    """What ``generate`` wrote: rows per table, the truth file, seconds taken."""

    out_dir: Path
    fmt: str
    rows: dict[str, int]
    seconds: float
    true_parameters_path: Path
    stats: dict[str, float] = field(default_factory=dict)
