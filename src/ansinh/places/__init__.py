"""Administrative units (đơn vị hành chính): the current 34 provinces / 3,321 communes and the
legacy 63 provinces / ~700 districts / ~10,000 communes, with the 2025 old→new mapping."""
