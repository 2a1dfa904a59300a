"""Law as data: dated rule tables (rates, caps, reference amounts, parameters) with sources."""
