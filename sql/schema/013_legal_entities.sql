-- Legal entities: a customer is billed by one of the seller's legal entities; each entity numbers
-- its invoices and credit notes in its own series, without gaps, per year.
alter table customers add column legal_entity varchar;        -- empty: the workspace's own series
alter table invoices add column legal_entity varchar;
