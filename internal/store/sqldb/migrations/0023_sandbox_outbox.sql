-- The sandbox keeps what it would have mailed: its queue marks a message
-- sent with the subject and body its renderer made, so that an integrator
-- can read them through the API. Outside the sandbox both stay empty (the
-- relay has the message; the store keeps no rendering). Only kinds whose
-- bodies carry no secret are rendered in the sandbox.
ALTER TABLE mail_outbox ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_outbox ADD COLUMN body TEXT NOT NULL DEFAULT '';
