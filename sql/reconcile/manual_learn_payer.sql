-- Remember that a payer account belongs to a customer, once a person has confirmed a match.
insert into payer_accounts (account, customer_id, source, run_id)
select $account, $customer_id, 'confirmed_match', $run_id
where not exists (
    select 1 from payer_accounts where account = $account and customer_id = $customer_id
)
