-- A deduction case is resolved once its invoice is paid in full (a later payment covered the residual).
update cases
set status = 'resolved'
where kind = 'deduction'
  and status = 'open'
  and invoice_id in (select invoice_id from invoice_balances where open_minor = 0)
