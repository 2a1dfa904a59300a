"""The national person registry: persons keyed on the 12-digit personal ID (số định danh cá
nhân), legacy 10-digit social insurance numbers (mã số BHXH) as aliases, employers (đơn vị),
employment spells with insured salaries, and health insurance cards (thẻ BHYT)."""
