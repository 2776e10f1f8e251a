-- Where a customer is billed: the postal address and VAT ID its invoices print (the country was
-- there already). `address` holds the street line(s), a second line after a `;`.
alter table customers add column address varchar;
alter table customers add column postcode varchar;
alter table customers add column city varchar;
alter table customers add column vat_id varchar;
-- A customer that asks for XRechnung (`einvoice`), and the reference its invoices must carry for it
-- (`buyer_reference`: a German public buyer's Leitweg-ID).
alter table customers add column einvoice varchar;
alter table customers add column buyer_reference varchar;
