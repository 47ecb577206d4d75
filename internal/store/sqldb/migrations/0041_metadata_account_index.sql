-- Every order placed reads its account's custom fields (they say which
-- are required). Without an index that read scanned the custom fields of
-- every account on the store.
CREATE INDEX metadata_account ON metadata(account_id, id);
