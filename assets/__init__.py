"""Assets: clinics' imaging devices — appraisal, inspection, certificate, anchoring, public verification."""
