-- Who receives the mail of an order's events. An account's notification
-- settings (PUT /account/settings: which groups of people receive order
-- confirmation, approval, rejection and renewal mail; PUT /account: the
-- addresses copied on every lifecycle mail) as one JSON document; empty
-- means CertCentral's defaults. A user's locale picks the language of the
-- mail they receive; empty means the order's.
ALTER TABLE accounts ADD COLUMN notification_settings TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
