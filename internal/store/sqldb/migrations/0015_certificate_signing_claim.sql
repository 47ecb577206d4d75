-- A pending certificate is claimed before the issuing key signs it: of the
-- paths that may issue one certificate (an approval, the validation worker,
-- a CSR update, another replica), only the one whose claim succeeds signs,
-- so a certificate is signed once. signing_claim is the claimant's token,
-- checked right before the signature and again when the certificate is
-- recorded; a claim held by a process that died lapses at signing_until.
ALTER TABLE certificates ADD COLUMN signing_until TEXT;
ALTER TABLE certificates ADD COLUMN signing_claim TEXT;
