-- Remove one allocation (a person's unapply decision).
delete from allocations where allocation_id = $allocation_id
