"""Result to bytes: tables, JSON, CSV, pictures, notebook display. The only rich, matplotlib and plotext imports."""
