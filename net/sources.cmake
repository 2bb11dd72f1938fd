# Network lockdown adds its files here.
