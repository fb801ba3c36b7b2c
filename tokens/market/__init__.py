"""Market wing: holders trade units among themselves (the DvP board, transfers, card-funded purchases)."""
