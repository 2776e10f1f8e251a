-- The company's own account a payment arrived on (a bank statement's account, or the `account`
-- column of a payments file): which legal entity's bank received the cash.
alter table payments add column account varchar;
