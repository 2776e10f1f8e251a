"""Text makers for the synthetic book: company names, e-mail addresses, bank accounts, the payer names
banks print, and remittance references as messy as real bank statements.

Every function takes the caller's `random.Random`, so the seed alone decides the output; nothing here
reads global random state, the clock or the environment.
"""

from __future__ import annotations

import random
import re


def _words(listing: str) -> list[str]:
    """The entries of a "|"-separated word list (names may contain spaces: "Van Dijk")."""
    return listing.split("|")


# Surnames and trade words per naming tradition; the country picks the tradition and the legal forms.
_SURNAMES = {
    "de": _words(
        "Kessler|Brandt|Fischer|Weber|Huber|Gruber|Müller|Böhm|Hartmann|Vogel|Lorenz|Krüger|Schäfer|"
        "Neumann|Wolf|Zimmermann|Hofmann|Keller|Baumann|Richter|Steiner|Winkler|Bergmann|Lehmann"
    ),
    "fr": _words(
        "Dubois|Moreau|Laurent|Lefèvre|Girard|Bonnet|Rousseau|Fontaine|Chevalier|Mercier|Blanc|Garnier|"
        "Faure|André|Perrin|Morel|Lambert|Henry|Roussel|Vincent"
    ),
    "nl": _words(
        "Jansen|Bakker|Visser|Smit|Mulder|Bos|Vos|Peters|Hendriks|Dekker|Brouwer|Van Dijk|Van Leeuwen|"
        "De Boer|De Vries|Kok|Meijer|Verhoeven"
    ),
    "en": _words(
        "Hartley|Whitmore|Ashford|Pemberton|Caldwell|Sterling|Harper|Bradshaw|Lockwood|Fairfax|Holloway|"
        "Prescott|Redford|Thornton|Wakefield|Kendall|Ainsworth|Carver|Dalton|Ellison"
    ),
    "jp": _words("Tanaka|Yamamoto|Suzuki|Watanabe|Nakamura|Kobayashi|Sato|Ito|Kato|Yoshida|Matsumoto|Inoue"),
}
_TRADES = {
    "de": _words(
        "Maschinenbau|Logistik|Elektrotechnik|Anlagenbau|Metallbau|Antriebstechnik|Automation|"
        "Kunststofftechnik|Handelsgesellschaft|Industriebedarf|Fördertechnik|Präzisionsteile"
    ),
    "fr": _words(
        "Industries|Logistique|Mécanique|Équipements|Distribution|Automatismes|Hydraulique|Services|"
        "Technologies|Fournitures"
    ),
    "nl": _words("Techniek|Logistiek|Machinebouw|Installaties|Handel|Groep|Industrie|Automatisering"),
    "en": _words(
        "Engineering|Industrial Supply|Manufacturing|Logistics|Controls|Components|Systems|Fabrication|"
        "Machinery|Hydraulics|Automation"
    ),
    "jp": _words("Precision|Seiki|Industrial|Machinery|Electric|Trading|Kogyo"),
}
_BRAND_STEMS = _words("Nord|Alp|Rhein|Hansa|Atlas|Vertex|Lumen|Terra|Vita|Orbis|Kraft|Delta|Nova|Axion|Polar")
_BRAND_ENDINGS = _words("tec|tronic|form|line|tek|matic|plan|werk|flow|mass")

# Legal forms per country with how often each is used.
LEGAL_FORMS = {
    "DE": {"GmbH": 70, "AG": 15, "GmbH & Co. KG": 15},
    "AT": {"GmbH": 80, "AG": 20},
    "CH": {"AG": 60, "GmbH": 30, "S.A.": 10},
    "FR": {"SARL": 45, "SAS": 35, "S.A.": 20},
    "BE": {"S.A.": 50, "BV": 30, "SRL": 20},
    "NL": {"B.V.": 90, "N.V.": 10},
    "GB": {"Ltd": 85, "PLC": 15},
    "US": {"Inc": 55, "LLC": 30, "Corp": 15},
    "JP": {"Co., Ltd.": 70, "K.K.": 30},
}
_NAMING = {"DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "fr", "NL": "nl", "GB": "en", "US": "en"}
_NAMING_JP = "jp"
_TLD = {"DE": "de", "AT": "at", "CH": "ch", "FR": "fr", "BE": "be", "NL": "nl", "GB": "co.uk", "US": "com"}
_MAILBOX = {"de": ["buchhaltung", "rechnungen", "ap"], "fr": ["comptabilite", "factures", "ap"]}
_MAILBOX_EN = ["accounts.payable", "ap", "invoices", "billing"]

# Alternative spellings of a legal form as they turn up in bank statements.
_LEGAL_FORM_ALIASES = {
    "GmbH & Co. KG": ["GmbH + Co. KG", "GmbH u. Co KG"],
    "GmbH": ["Gmbh", "G.m.b.H.", "Gesellschaft mbH"],
    "AG": ["Aktiengesellschaft", "A.G."],
    "S.A.": ["SA", "S.A"],
    "SARL": ["S.A.R.L.", "Sarl"],
    "SAS": ["S.A.S.", "Sas"],
    "SRL": ["S.R.L."],
    "BV": ["B.V."],
    "B.V.": ["BV", "B V"],
    "N.V.": ["NV"],
    "Ltd": ["Limited", "Ltd."],
    "PLC": ["plc", "Public Limited Company"],
    "Inc": ["Inc.", "Incorporated"],
    "LLC": ["L.L.C.", "Llc"],
    "Corp": ["Corporation", "Corp."],
    "Co., Ltd.": ["Co Ltd", "Company Limited"],
    "K.K.": ["Kabushiki Kaisha", "KK"],
}
_LEGAL_FORMS_LONGEST_FIRST = sorted(_LEGAL_FORM_ALIASES, key=len, reverse=True)
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "É": "E"})

_BANK_LETTERS = {
    "NL": ["ABNA", "INGB", "RABO", "TRIO", "SNSB", "KNAB"],
    "GB": ["NWBK", "BARC", "LOYD", "HBUK"],
}
# Digits of the basic bank account number (BBAN) after any bank letters, for plain-digit countries.
_BBAN_DIGITS = {"DE": 18, "AT": 16, "CH": 17}


def _weighted(rng: random.Random, shares: dict[str, int]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def company_name(country: str, rng: random.Random, taken: set[str]) -> str:
    """A company name not in `taken`, built from the country's naming habits and legal forms."""
    naming = _NAMING.get(country, _NAMING_JP)
    for attempt in range(50):
        if rng.random() < 0.25:
            core = rng.choice(_BRAND_STEMS) + rng.choice(_BRAND_ENDINGS)
        else:
            core = f"{rng.choice(_SURNAMES[naming])} {rng.choice(_TRADES[naming])}"
        if attempt >= 10:  # crowded name space: a second trade word keeps names unique
            core = f"{core} {rng.choice(_TRADES[naming])}"
        name = f"{core} {_weighted(rng, LEGAL_FORMS[country])}"
        if name not in taken:
            taken.add(name)
            return name
    # A name space this crowded (a hundred thousand customers): a numbered branch of the last name.
    core, form = split_legal_form(name)
    for number in range(2, 10**6):
        numbered = f"{core} {number} {form}".rstrip()
        if numbered not in taken:
            taken.add(numbered)
            return numbered
    raise RuntimeError("could not find a free company name")


def split_legal_form(name: str) -> tuple[str, str]:
    """(core name, legal form) of a generated company name; legal form "" when there is none."""
    for form in _LEGAL_FORMS_LONGEST_FIRST:
        if name.endswith(" " + form):
            return name[: -len(form) - 1], form
    return name, ""


def email_address(name: str, country: str, language: str, rng: random.Random) -> str:
    """The accounts-payable mailbox of a company, on a domain derived from its name."""
    core, _ = split_legal_form(name)
    slug = re.sub(r"[^a-z0-9]+", "-", core.lower().translate(_TRANSLITERATION)).strip("-")
    mailbox = rng.choice(_MAILBOX.get(language, _MAILBOX_EN))
    return f"{mailbox}@{slug}.{_TLD.get(country, 'co.jp')}"


def iban(country: str, bban: str) -> str:
    """The IBAN of a national account number with ISO 13616 mod-97 check digits."""
    rearranged = bban + country + "00"
    as_number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{country}{98 - as_number % 97:02d}{bban}"


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


def _bban(country: str, rng: random.Random) -> str:
    """A national account number in the country's format, national check digits included."""
    if country == "FR":  # bank, branch, account, then the RIB key over the three
        bank, branch, account = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
        key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
        return f"{bank}{branch}{account}{key:02d}"
    if country == "BE":  # ten digits and their remainder modulo 97 (97 instead of 0)
        body = _digits(rng, 10)
        return f"{body}{int(body) % 97 or 97:02d}"
    if country in _BANK_LETTERS:
        return rng.choice(_BANK_LETTERS[country]) + _digits(rng, 10 if country == "NL" else 14)
    return _digits(rng, _BBAN_DIGITS[country])


def bank_account(country: str, rng: random.Random) -> str:
    """A bank account of a company in `country`: an IBAN, or a plain account number where IBANs are not
    used (US, JP)."""
    if country == "US":
        return _digits(rng, 12)
    if country == "JP":
        return _digits(rng, 3) + _digits(rng, 7)
    return iban(country, _bban(country, rng))


PAYER_NAME_STYLES = {
    "exact": 55,
    "upper": 15,
    "no_legal_form": 9,
    "other_legal_form": 9,
    "abbreviated": 7,
    "typo": 5,
}


PAYER_ACCOUNT_STYLES = {"known": 85, "other": 8, "empty": 7}


def payer_account(style: str, known_accounts: list[str], country: str, rng: random.Random) -> str:
    """The account a customer's payment came from, in one of PAYER_ACCOUNT_STYLES: one we know (mostly
    the first), another one (a parent company, a new bank) or none at all."""
    if style == "known":
        return known_accounts[0] if rng.random() < 0.8 else rng.choice(known_accounts)
    if style == "other":
        return bank_account(country, rng)
    return ""


def payer_name(style: str, name: str, rng: random.Random) -> str:
    """The customer's name the way the paying bank printed it, in one of PAYER_NAME_STYLES."""
    core, form = split_legal_form(name)
    if style == "upper":
        return name.translate(_TRANSLITERATION).upper() if rng.random() < 0.3 else name.upper()
    if style == "no_legal_form":
        return core
    if style == "other_legal_form" and form:
        return f"{core} {rng.choice(_LEGAL_FORM_ALIASES[form])}"
    if style == "abbreviated":
        return _abbreviated(core, form, rng)
    if style == "typo":
        return _with_typo(name, rng)
    return name


def _abbreviated(core: str, form: str, rng: random.Random) -> str:
    """Banks cut long names: keep the first word and initial the rest, or truncate to 18 characters."""
    words = core.split()
    if len(words) > 1 and rng.random() < 0.5:
        short = " ".join([words[0], *(w[0] + "." for w in words[1:])])
        return f"{short} {form}".strip()
    full = f"{core} {form}".strip()
    return full[:18].rstrip() if len(full) > 18 else f"{core[:4]}. {form}".strip()


def _with_typo(name: str, rng: random.Random) -> str:
    """One keying error inside the name: two letters swapped, a letter dropped or doubled."""
    letters = [i for i in range(1, len(name) - 1) if name[i].isalpha() and name[i + 1].isalpha()]
    if not letters:
        return name + "."
    i = rng.choice(letters)
    kind = rng.randrange(3)
    if kind == 0 and name[i] != name[i + 1]:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if kind == 1:
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]


REFERENCE_STYLES = {
    "exact": 38,
    "spaced": 6,
    "compact": 6,
    "unpadded": 6,
    "lower": 6,
    "noisy": 16,
    "empty": 11,
    "useless": 11,
}
_NOISE = {
    "de": ["RE: Rechnung {id}", "Rechnung {id} Kd-Nr {customer}", "EREF+{id} SVWZ+Zahlung", "Zahlung {id}"],
    "fr": ["Facture {id} reglement", "VIR SEPA FACT {id}", "Paiement facture {id}"],
    "en": [
        "Payment inv {id} thank you",
        "Invoice {id} cust {customer}",
        "REMIT {id}",
        "Inv. {id} paid in full",
    ],
}
_USELESS = ["Payment", "ACH credit", "Invoice payment", "SEPA credit transfer", "Wire transfer", "Zahlung"]


def invoice_token(style: str, invoice_id: str) -> str:
    """One invoice number as a payer typed it: exact, with spaces or without dashes, without leading
    zeros, or in lower case."""
    prefix, year, sequence = invoice_id.split("-")
    if style == "spaced":
        return f"{prefix} {year} {sequence}"
    if style == "compact":
        return f"{prefix}{year}{sequence}"
    if style == "unpadded":
        return f"{prefix}-{year}-{int(sequence)}"
    if style == "lower":
        return invoice_id.lower()
    return invoice_id


def single_reference(style: str, invoice_id: str, customer_id: str, language: str, rng: random.Random) -> str:
    """Remittance text of a payment for one invoice, in one of REFERENCE_STYLES."""
    if style == "empty":
        return ""
    if style == "useless":
        if rng.random() < 0.3:  # the payer's own purchase-order number, useless to us
            return f"PO {rng.randint(4500000000, 4509999999)}"
        return rng.choice(_USELESS)
    if style == "noisy":
        template = rng.choice(_NOISE.get(language, []) + _NOISE["en"])
        return template.format(id=invoice_id, customer=customer_id)
    return invoice_token(style, invoice_id)


MULTI_SEPARATORS = {", ": 1, " ": 1, "/": 1}


def multi_reference(separator: str, invoice_ids: list[str], rng: random.Random) -> str:
    """Remittance text of one payment settling several invoices, numbers joined by `separator`."""
    style = "compact" if rng.random() < 0.15 else "exact"
    listed = separator.join(invoice_token(style, invoice_id) for invoice_id in invoice_ids)
    return rng.choice(["", "", "Invoices ", "Rechnungen ", "Inv "]) + listed


_STRAY_PAYERS = [
    "Finanzamt München",
    "AXA Versicherung AG",
    "Stadtwerke Bremen AG",
    "PayPal Europe S.a.r.l.",
    "Hertz Autovermietung GmbH",
    "Unknown sender",
    "",
]
_STRAY_REFERENCES = [
    "Erstattung",
    "Refund",
    "Deposit return",
    "Interest Q3",
    "Gutschrift",
    "Kaution",
    "",
    "Bonus",
]


def stray_payment_text(rng: random.Random) -> tuple[str, str, str]:
    """(payer name, payer account, reference) of a receipt that belongs to no invoice."""
    account = iban("DE", _bban("DE", rng)) if rng.random() < 0.7 else ""
    return rng.choice(_STRAY_PAYERS), account, rng.choice(_STRAY_REFERENCES)


# The seller's catalogue: sku, description, list price in EUR cents, quantity range per order line,
# how often it is ordered (relative), and whether it is printed matter (reduced VAT in most countries).
CATALOG: list[tuple[str, str, int, int, int, int, bool]] = [
    ("HYD-PMP-200", "Hydraulic pump HP-200", 124900, 1, 4, 3, False),
    ("SPR-KIT-200", "Spare parts kit for pump HP-200", 34900, 1, 5, 4, False),
    ("SEN-TMP-010", "Temperature sensor PT100", 4890, 5, 60, 8, False),
    ("SEN-PRS-020", "Pressure transmitter 0-10 bar", 18900, 2, 20, 6, False),
    ("VLV-BAL-025", "Ball valve DN25, stainless steel", 6450, 4, 40, 7, False),
    ("MTR-SRV-750", "Servo motor 750 W", 68900, 1, 6, 3, False),
    ("CTL-PLC-S12", "PLC controller S12", 154000, 1, 3, 2, False),
    ("CBL-PWR-050", "Power cable 5 x 2.5 mm², 50 m", 21990, 1, 10, 5, False),
    ("CON-M12-008", "M12 connector, 8-pin", 1295, 10, 200, 9, False),
    ("FLT-AIR-300", "Air filter cartridge F7", 3475, 6, 80, 8, False),
    ("LUB-GRS-005", "Industrial grease, 5 kg", 5980, 2, 30, 6, False),
    ("BRG-6204-2RS", "Deep groove ball bearing 6204-2RS", 745, 20, 300, 9, False),
    ("BLT-SPA-1250", "V-belt SPA 1250", 1960, 5, 50, 6, False),
    ("GLV-NIT-100", "Nitrile gloves, box of 100", 1150, 10, 120, 7, False),
    ("TLS-TRQ-060", "Torque wrench 20-60 Nm", 15900, 1, 8, 3, False),
    ("SFT-LIC-ANN", "Monitoring software licence, annual", 240000, 1, 2, 1, False),
    ("SFT-SUP-MON", "Software support, monthly", 39000, 1, 3, 3, False),
    ("SRV-INST-HR", "Installation service (hour)", 9500, 2, 40, 5, False),
    ("SRV-ENG-HR", "Engineering consulting (hour)", 14500, 1, 32, 4, False),
    ("SRV-TRN-DAY", "On-site training (day)", 120000, 1, 3, 2, False),
    ("SRV-MNT-QTR", "Maintenance contract, quarterly", 189000, 1, 1, 2, False),
    ("DOC-MAN-PRT", "Technical handbook (printed)", 4900, 1, 20, 3, True),
    ("DOC-STD-PRT", "Standards collection (printed)", 8900, 1, 5, 2, True),
    ("FRT-STD-001", "Freight and packaging", 4500, 1, 1, 6, False),
]
