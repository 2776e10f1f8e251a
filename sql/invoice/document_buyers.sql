-- The buyer each named invoice was issued to: its snapshot taken at billing, else (an invoice billed
-- before snapshots were kept) the customer master as it is now.
select i.invoice_id,
       coalesce(b.customer_id, c.customer_id) as customer_id,
       coalesce(b.name, c.name) as name,
       coalesce(b.language, c.language, 'en') as language,
       coalesce(b.email, c.email) as email,
       case when b.invoice_id is null then c.address else b.address end as address,
       case when b.invoice_id is null then c.postcode else b.postcode end as postcode,
       case when b.invoice_id is null then c.city else b.city end as city,
       case when b.invoice_id is null then c.country else b.country end as country,
       case when b.invoice_id is null then c.vat_id else b.vat_id end as vat_id,
       case when b.invoice_id is null then c.einvoice else b.einvoice end as einvoice,
       case when b.invoice_id is null then c.buyer_reference else b.buyer_reference end as buyer_reference
from invoices i
left join invoice_buyers b using (invoice_id)
left join customers c on c.customer_id = i.customer_id
where i.invoice_id in (select unnest($ids))
