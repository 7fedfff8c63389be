"""sbsr_lab.render"""
