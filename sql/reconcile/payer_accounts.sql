-- Bank accounts known to belong to a customer: from master data and from confirmed matches.
select account, customer_id from customer_bank_accounts
union
select account, customer_id from payer_accounts
