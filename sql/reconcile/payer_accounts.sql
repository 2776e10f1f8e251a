-- Bank accounts known to belong to a customer: from master data and from confirmed matches; in one
-- order, so that a run reads them the same way every time.
select account, customer_id from customer_bank_accounts
union
select account, customer_id from payer_accounts
order by account, customer_id
