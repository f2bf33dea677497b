"""What the product does. Views, admin, commands and tests all call these functions."""
