"""One module per question (grad, jacobian, points, formula, descent, ...), each returning one result."""
