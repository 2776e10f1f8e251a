-- Subscription periods already billed: never billed again.
select subscription_id, period_start from subscription_periods
