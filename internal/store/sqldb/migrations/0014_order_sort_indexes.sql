-- Every documented sort of the order and request lists reads an index in
-- order: (account_id, key, id), forwards for ascending, backwards for
-- descending, as the list queries end with the id in the key's direction
-- (sqldb.orderBy). Without them a page of a large account sorted the whole
-- account's rows first. The id is named for PostgreSQL; SQLite's indexes end
-- with it anyway. The indexes they replace were their prefixes.
DROP INDEX orders_account_status;
DROP INDEX orders_account_created;
DROP INDEX orders_account_container;
CREATE INDEX orders_sort_id ON orders(account_id, id);
CREATE INDEX orders_sort_created ON orders(account_id, created_at, id);
CREATE INDEX orders_sort_status ON orders(account_id, status, id);
CREATE INDEX orders_sort_common_name ON orders(account_id, common_name, id);
CREATE INDEX orders_sort_product ON orders(account_id, product_name_id, id);
CREATE INDEX orders_sort_valid_till ON orders(account_id, order_valid_till, id);
CREATE INDEX orders_sort_organization ON orders(account_id, organization_id, id);
CREATE INDEX orders_sort_container ON orders(account_id, container_id, id);
CREATE INDEX orders_sort_user ON orders(account_id, user_id, id);
CREATE INDEX orders_sort_renewed ON orders(account_id, is_renewed, id);

-- Requests: every query names the account, so (account_id, order_id, id)
-- also serves an order's requests (and the join from orders sorted by
-- common name).
DROP INDEX requests_account;
DROP INDEX requests_order;
CREATE INDEX requests_sort_id ON requests(account_id, id);
CREATE INDEX requests_sort_date ON requests(account_id, date, id);
CREATE INDEX requests_sort_status ON requests(account_id, status, id);
CREATE INDEX requests_sort_type ON requests(account_id, type, id);
CREATE INDEX requests_sort_processed ON requests(account_id, date_processed, id);
CREATE INDEX requests_sort_order ON requests(account_id, order_id, id);
