-- Most orders renew nothing (renewal_of_order_id = 0), yet every one of
-- them wrote a leaf of orders_renewal_of: one of the 29 B-tree pages an
-- immediate order writes to the WAL. Only the renewal jobs read the index,
-- for the renewals of a given order, so it holds renewals alone; their
-- queries say renewal_of_order_id <> 0 so that both SQLite's and
-- PostgreSQL's planners may use it.
DROP INDEX orders_renewal_of;
CREATE INDEX orders_renewal_of ON orders(renewal_of_order_id) WHERE renewal_of_order_id <> 0;
