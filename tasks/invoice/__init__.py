"""Invoice: fulfilled, not yet billed orders and due subscription periods in; numbered invoices,
credit notes, their documents and the invoice e-mails out."""
