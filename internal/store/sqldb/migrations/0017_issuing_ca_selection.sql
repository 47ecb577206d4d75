-- The account option "ICA selection" (seed 004): while it is off, an
-- order's certificate.ca_cert_id is ignored and the product's default
-- issuing CA signs. Off for existing accounts, as for new ones.
ALTER TABLE accounts ADD COLUMN issuing_ca_selection INTEGER NOT NULL DEFAULT 0;
