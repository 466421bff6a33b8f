"""Physical constants (SI), each defined once; every module imports them from here.

Source: CODATA 2018 (Tiesinga et al., Rev. Mod. Phys. 93, 025010 (2021);
https://physics.nist.gov/cuu/Constants/), after the 2019 SI redefinition. N_A, e and k_B are
exact by definition, so the Faraday constant F = N_A e and the molar gas constant R = N_A k_B
are exact too; CODATA prints them truncated (F = 96 485.332 12... C/mol,
R = 8.314 462 618... J/(mol K)). Here they are the products, exact to double precision
(relative 3.4e-11 and 1.8e-11 above the truncated values that the code used before).
"""

from __future__ import annotations

#: Avogadro constant [1/mol] (exact).
AVOGADRO = 6.02214076e23
#: Elementary charge [C] (exact).
ELEMENTARY_CHARGE = 1.602176634e-19
#: Boltzmann constant [J/K] (exact).
BOLTZMANN = 1.380649e-23

#: Faraday constant F = N_A e [C/mol] (exact; 96485.33212331...).
FARADAY = AVOGADRO * ELEMENTARY_CHARGE
#: Molar gas constant R = N_A k_B [J/(mol K)] (exact; 8.31446261815324...).
GAS_CONSTANT = AVOGADRO * BOLTZMANN
