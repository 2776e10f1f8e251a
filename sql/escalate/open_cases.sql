-- Open disputes, deductions and promises per customer.
select customer_id, count(*) as open_cases from cases where status = 'open' group by customer_id
