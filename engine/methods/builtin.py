"""reesens' own methods, registered in their order (the entry point `reesens` of the group
`reesens.methods`)."""
# isort: skip_file
from reesens.methods import sobol  # noqa: F401
from reesens.methods import pawn  # noqa: F401
from reesens.methods import delta  # noqa: F401
from reesens.methods import given_data  # noqa: F401
from reesens.methods import rsa  # noqa: F401
from reesens.methods import prim  # noqa: F401
from reesens.methods import morris  # noqa: F401
