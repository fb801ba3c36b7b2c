"""Primary wing: investors buy units of an offering by card — orders, mints, receipts, refunds,
disputes and order administration."""
