-- What a request of a given type will do once approved (JSON; e.g. the
-- certificates and reason of a revoke request), kept with the request.
ALTER TABLE requests ADD COLUMN detail TEXT NOT NULL DEFAULT '';
